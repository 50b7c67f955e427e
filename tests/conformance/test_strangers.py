"""The suite certifies stores written against the published interface only (no sessionkv import).

A correct stranger passes every test with zero failures, declared or not, with or without
``touch``, and so does ``sessionkv.adapt(stranger)``; each defective variant fails exactly the
tests of the rule it breaks and passes the rest. The listing-cost check certifies a stranger that
declares ``directory_listing`` as a mapping and counts ``keys_examined``, and states why it adapted
to one that declares nothing or counts nothing.
"""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from strangers import BROKEN

HERE = Path(__file__).parent
CORRECT = [
    "TestPublishedStore",
    "TestDeclaringStore",
    "TestIndexedStore",
    "TestUncountedIndexedStore",
    "TestAdaptedByHand",
]
LISTING_TEST = "test_listing_a_directory_costs_its_entries"
ADAPTED_PROPERTY = "sessionkv_adapted"
SUITES = CORRECT + [f"Test{broken.__name__}" for broken in BROKEN]
WORKERS = 2

#: suite class -> test name -> "passed", or "failure: <message>" / "error: ..." / "skipped: ..."
Outcomes = dict[str, dict[str, str]]
#: suite class -> test name -> the reasons it adapted (the suite's ``sessionkv_adapted`` properties)
Adaptations = dict[str, dict[str, list[str]]]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Outcomes, Adaptations]:
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
    adaptations: Adaptations = {}
    for proc, xml in procs:
        output, _ = proc.communicate(timeout=600)
        assert xml.exists(), output
        for case in ET.parse(xml).getroot().iter("testcase"):
            cls = case.get("classname", "").rsplit(".", 1)[-1]
            tags = {child.tag: child for child in case}
            outcome = next((tag for tag in ("failure", "error", "skipped") if tag in tags), "passed")
            why = tags[outcome].get("message", "") if outcome in tags else ""
            found.setdefault(cls, {})[case.get("name", "")] = outcome if outcome == "passed" else f"{outcome}: {why}"
            reasons = [p.get("value", "") for p in case.iter("property") if p.get("name") == ADAPTED_PROPERTY]
            adaptations.setdefault(cls, {})[case.get("name", "")] = reasons
    return found, adaptations


@pytest.fixture(scope="module")
def outcomes(runs: tuple[Outcomes, Adaptations]) -> Outcomes:
    return runs[0]


@pytest.fixture(scope="module")
def adaptations(runs: tuple[Outcomes, Adaptations]) -> Adaptations:
    return runs[1]


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


def test_listing_cost_of_an_indexed_stranger_is_certified(outcomes: Outcomes, adaptations: Adaptations) -> None:
    assert outcomes["TestIndexedStore"][LISTING_TEST] == "passed"
    assert adaptations["TestIndexedStore"][LISTING_TEST] == []


def test_listing_cost_adapts_with_its_reason_to_a_store_that_declares_or_counts_nothing(
    adaptations: Adaptations,
) -> None:
    assert adaptations["TestPublishedStore"][LISTING_TEST] == [
        "declares directory_listing='scan': listing costs the whole store"
    ]
    assert adaptations["TestUncountedIndexedStore"][LISTING_TEST] == [
        "declares directory_listing='indexed' but keys_examined is None (the store does not count the entries its "
        "listings examine): the listing cost was not checked"
    ]


def test_listing_cost_failures_say_what_was_declared_and_what_was_examined(outcomes: Outcomes) -> None:
    scanning = outcomes["TestClaimsIndexedButScans"][LISTING_TEST]
    assert scanning.startswith("failure: "), scanning
    assert (
        "declared directory_listing='indexed' but keys('calls/c1/') examined 310 entries for 5 keys among 310 "
        "(at most 30 allowed: 2 per key + 20)"
    ) in scanning
    silent = outcomes["TestCounterNeverMoves"][LISTING_TEST]
    assert (
        "keys_examined did not count the entries returned: keys('calls/c1/') returned 5 keys but keys_examined "
        "moved by 0"
    ) in silent
