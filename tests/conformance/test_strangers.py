"""The suite certifies stores written against the published interface only (no sessionkv import).

A correct stranger passes every test with zero failures, declared or not, with or without
``touch``, and so does ``sessionkv.adapt(stranger)``; each defective variant fails exactly the
tests of the rule it breaks and passes the rest.
"""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from strangers import BROKEN

HERE = Path(__file__).parent
CORRECT = ["TestPublishedStore", "TestDeclaringStore", "TestAdaptedByHand"]
SUITES = CORRECT + [f"Test{broken.__name__}" for broken in BROKEN]
WORKERS = 2

#: suite class -> test name -> "passed", or "failure: <message>" / "error: ..." / "skipped: ..."
Outcomes = dict[str, dict[str, str]]


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> Outcomes:
    """Every suite class of stranger_suites.py run whole, in independent subprocesses started together."""
    base = tmp_path_factory.mktemp("strangers")
    procs = []
    for part in range(WORKERS):
        xml = base / f"junit-{part}.xml"
        ids = [f"stranger_suites.py::{suite}" for suite in SUITES[part::WORKERS]]
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:benchmark", "-W", "error"]
        cmd += [f"--junitxml={xml}", *ids]
        proc = subprocess.Popen(cmd, cwd=HERE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        procs.append((proc, xml))
    found: Outcomes = {}
    for proc, xml in procs:
        output, _ = proc.communicate(timeout=600)
        assert xml.exists(), output
        for case in ET.parse(xml).getroot().iter("testcase"):
            cls = case.get("classname", "").rsplit(".", 1)[-1]
            tags = {child.tag: child for child in case}
            outcome = next((tag for tag in ("failure", "error", "skipped") if tag in tags), "passed")
            why = tags[outcome].get("message", "") if outcome in tags else ""
            found.setdefault(cls, {})[case.get("name", "")] = outcome if outcome == "passed" else f"{outcome}: {why}"
    return found


def test_strangers_module_imports_nothing_of_sessionkv() -> None:
    code = "import sys, strangers; print(sorted(m for m in sys.modules if m.startswith('sessionkv')))"
    out = subprocess.run([sys.executable, "-c", code], cwd=HERE, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("suite", CORRECT)
def test_correct_stranger_passes_every_test(outcomes: Outcomes, suite: str) -> None:
    results = outcomes[suite]
    assert len(results) >= 54, f"{suite}: only {len(results)} tests ran"
    assert {name: outcome for name, outcome in results.items() if outcome != "passed"} == {}


@pytest.mark.parametrize("broken", list(BROKEN), ids=lambda cls: cls.__name__)
def test_defective_stranger_fails_exactly_its_rule(outcomes: Outcomes, broken: type) -> None:
    results = outcomes[f"Test{broken.__name__}"]
    failed = {name: outcome for name, outcome in results.items() if outcome != "passed"}
    assert set(failed) == BROKEN[broken], failed
    assert len(results) == len(outcomes["TestPublishedStore"])
