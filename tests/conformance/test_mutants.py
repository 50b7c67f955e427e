"""The suite catches deliberately broken backends: each mutant fails its named test, the unbroken store passes."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from mutants import MUTANTS

HERE = Path(__file__).parent
WORKERS = 2


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], str]:
    """Run every (mutant, named test) pair plus the same tests on the unbroken store, in one subprocess."""
    names = sorted({name for tests in MUTANTS.values() for name in tests})
    ids = [f"mutant_suites.py::Test{mutant.__name__}::{name}" for mutant, tests in MUTANTS.items() for name in tests]
    ids += [f"mutant_suites.py::TestUnbroken::{name}" for name in names]
    base = tmp_path_factory.mktemp("mutants")
    procs = []
    for part in range(WORKERS):  # independent runs, started together
        xml = base / f"junit-{part}.xml"
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={xml}", *ids[part::WORKERS]]
        procs.append(
            (subprocess.Popen(cmd, cwd=HERE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True), xml)
        )
    found: dict[tuple[str, str], str] = {}
    for proc, xml in procs:
        output, _ = proc.communicate(timeout=600)
        assert xml.exists(), output
        for case in ET.parse(xml).getroot().iter("testcase"):
            cls = case.get("classname", "").rsplit(".", 1)[-1]
            children = {child.tag for child in case}
            outcome = "failed" if "failure" in children else "error" if "error" in children else "passed"
            if "skipped" in children:
                outcome = "skipped"
            found[(cls, case.get("name", ""))] = outcome
    assert len(found) == len(ids), f"expected {len(ids)} results, got {len(found)}"
    return found


@pytest.mark.parametrize(
    ("mutant", "test"),
    [(mutant.__name__, name) for mutant, tests in MUTANTS.items() for name in tests],
)
def test_mutant_fails_its_named_test(outcomes: dict[tuple[str, str], str], mutant: str, test: str) -> None:
    assert outcomes[(f"Test{mutant}", test)] == "failed", f"{test} did not catch {mutant}"
    assert outcomes[("TestUnbroken", test)] == "passed", f"{test} fails on the unbroken memory store"
