"""Certification holds against a store written by a stranger (issue #23), by both routes a third party takes.

``sqlite_strangers.py`` is a correct SQLite store importing nothing of sessionkv plus one-bug
variants of it. Every one of them goes through ``sessionkv check --factory`` (the CLI: exit status
and JSON report) and through the pytest subclass route (``sqlite_stranger_suites.py``): the correct
store is CERTIFIED (exit 0, every test passes), and each variant is rejected by both, failing
exactly the tests ``VARIANTS`` names (every other test passes). A variant that hangs fails its
test within the per-step deadline and the run finishes. Cost: the runs are independent, so they
start together (the CLI runs one process per store, the subclass route a few processes of whole
suite classes); the suite mostly waits on TTLs, so this takes about one suite's wall time plus the
deadline.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlite_strangers import EVERYWHERE, VARIANTS, SQLiteStranger

HERE = Path(__file__).parent
#: seconds a step of a conformance test may take: short, so the hanging variant costs little, yet far above
#: the slowest test of the correct store (the run fails, naming the test, if load ever pushes one past it)
DEADLINE = 20.0
SUITE_WORKERS = 4
#: processes at once (CLI runs and suite runs alike)
PARALLEL = 6
#: factories taking no namespace: their isolation cannot be checked, so never CERTIFIED (exit 3 or 1)
NO_NAMESPACE = ("make_sqlite_without_namespace", "make_leaky_without_namespace")
ALL = [SQLiteStranger, *VARIANTS, *EVERYWHERE]
HANGING = {"HangsOnRepeatedKeys"}
#: what the CLI runs of the EVERYWHERE variants (the pytest route runs them whole)
EVERYWHERE_SELECTION = "raw_ or empty_value"


def check_command(*args: str) -> list[str]:
    """``sessionkv check ARGS`` in a fresh interpreter that can import the strangers."""
    code = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(HERE)!r})
        from sessionkv.cli import main
        sys.exit(main(["check", *sys.argv[1:]]))
    """)
    return [sys.executable, "-c", code, *args]


def suite_command(ids: list[str], xml: Path) -> list[str]:
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:benchmark", "-p", "no:xdist"]
    return [*cmd, f"--sessionkv-deadline={DEADLINE:g}", f"--junitxml={xml}", *ids]


#: store class name -> test name -> "pass"/"adapted"/"FAIL"/"ERROR" (CLI) or "passed"/"failure"/... (pytest)
Outcomes = dict[str, dict[str, str]]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, tuple[int, dict[str, Any]]], Outcomes]:
    """Every store through the CLI (one process each) and the subclass route (a few processes).

    At most ``PARALLEL`` processes run at once: on a 2-core CI machine shared with another test worker, more
    would only stretch each run's steps towards the deadline.
    """
    base = tmp_path_factory.mktemp("sqlite-strangers")
    jobs: dict[str, tuple[list[str], Path]] = {}
    for cls in ALL:
        factory = "sqlite_strangers:make_sqlite" if cls is SQLiteStranger else f"sqlite_strangers:make_{cls.__name__}"
        cmd = check_command("--factory", factory, "--json", f"--deadline={DEADLINE:g}")
        if cls in EVERYWHERE:  # the whole suite on GetReturnsStr takes ~100 s CPU in the CLI (unfixed, see report)
            cmd += ["-k", EVERYWHERE_SELECTION]
        jobs[f"cli:{cls.__name__}"] = (cmd, base)
    for name in NO_NAMESPACE:
        jobs[f"cli:{name}"] = (check_command("--factory", f"sqlite_strangers:{name}", "--json"), base)
    xmls = []
    for part in range(SUITE_WORKERS):
        xml = base / f"junit-{part}.xml"
        ids = [f"sqlite_stranger_suites.py::Test{cls.__name__}" for cls in ALL[part::SUITE_WORKERS]]
        jobs[f"suite:{part}"] = (suite_command(ids, xml), HERE)
        xmls.append(xml)

    def run(job: tuple[list[str], Path]) -> subprocess.CompletedProcess[str]:
        cmd, cwd = job
        return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600)

    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        done = dict(zip(jobs, pool.map(run, jobs.values()), strict=True))
    reports: dict[str, tuple[int, dict[str, Any]]] = {}
    for key, proc in done.items():
        if not key.startswith("cli:"):
            continue
        try:
            reports[key.removeprefix("cli:")] = (proc.returncode, json.loads(proc.stdout))
        except json.JSONDecodeError:
            pytest.fail(f"{key}: sessionkv check exited {proc.returncode} without a JSON report: {proc.stderr[-2000:]}")
    outcomes: Outcomes = {}
    for part, xml in enumerate(xmls):
        assert xml.exists(), (done[f"suite:{part}"].stdout + done[f"suite:{part}"].stderr)[-4000:]
        for case in ET.parse(xml).getroot().iter("testcase"):
            cls_name = case.get("classname", "").rsplit(".", 1)[-1].removeprefix("Test")
            tags = {child.tag: child for child in case}
            outcome = next((tag for tag in ("failure", "error", "skipped") if tag in tags), "passed")
            message = tags[outcome].get("message", "") if outcome in tags else ""
            outcomes.setdefault(cls_name, {})[case.get("name", "")] = (
                outcome if outcome == "passed" else f"{outcome}: {message[:300]}"
            )
    return reports, outcomes


def cli_failures(report: dict[str, Any]) -> dict[str, str]:
    return {r["name"]: r["message"][:300] for r in report["results"] if r["outcome"] not in ("pass", "adapted")}


def test_sqlite_strangers_module_imports_nothing_of_sessionkv() -> None:
    code = "import sys, sqlite_strangers; print(sorted(m for m in sys.modules if m.startswith('sessionkv')))"
    out = subprocess.run([sys.executable, "-c", code], cwd=HERE, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_correct_sqlite_stranger_is_certified_by_the_cli(runs: tuple[dict[str, Any], Outcomes]) -> None:
    status, report = runs[0]["SQLiteStranger"]
    assert status == 0, report["verdict"]
    assert report["certified"] is True and report["exceptions"] == [] and report["deselected"] == 0
    assert cli_failures(report) == {}
    assert len(report["results"]) >= 79
    assert report["backend"] == "sqlite_strangers.SQLiteStranger (published interface, wrapped with sessionkv.adapt)"


def test_correct_sqlite_stranger_passes_the_subclass_route(runs: tuple[dict[str, Any], Outcomes]) -> None:
    results = runs[1]["SQLiteStranger"]
    assert len(results) == len(runs[0]["SQLiteStranger"][1]["results"])
    assert {name: outcome for name, outcome in results.items() if outcome != "passed"} == {}


@pytest.mark.parametrize("variant", list(VARIANTS), ids=lambda cls: cls.__name__)
def test_cli_rejects_the_variant_on_exactly_its_tests(
    runs: tuple[dict[str, Any], Outcomes], variant: type[SQLiteStranger]
) -> None:
    status, report = runs[0][variant.__name__]
    assert status == 1, report["verdict"]
    assert report["certified"] is False and report["verdict"].startswith("NOT CERTIFIED")
    assert set(cli_failures(report)) == VARIANTS[variant], cli_failures(report)
    assert len(report["results"]) == len(runs[0]["SQLiteStranger"][1]["results"])
    longest = max(len(json.dumps(r)) for r in report["results"])
    assert longest < 20_000, f"a result of {longest:,} characters: failure messages must be bounded"


@pytest.mark.parametrize("variant", list(VARIANTS), ids=lambda cls: cls.__name__)
def test_subclass_route_rejects_the_variant_on_exactly_its_tests(
    runs: tuple[dict[str, Any], Outcomes], variant: type[SQLiteStranger]
) -> None:
    results = runs[1][variant.__name__]
    failed = {name: outcome for name, outcome in results.items() if outcome != "passed"}
    assert set(failed) == VARIANTS[variant], failed
    assert len(results) == len(runs[1]["SQLiteStranger"])


def test_a_hanging_variant_fails_its_test_within_the_deadline(runs: tuple[dict[str, Any], Outcomes]) -> None:
    for name in HANGING:
        report = runs[0][name][1]
        (message,) = cli_failures(report).values()
        assert f"deadline: test_raw_mget_repeated_keys_answer_every_position did not finish within {DEADLINE:g} s" in (
            message
        )
        (outcome,) = (o for o in runs[1][name].values() if o != "passed")
        assert f"did not finish within {DEADLINE:g} s" in outcome


@pytest.mark.parametrize("variant", list(EVERYWHERE), ids=lambda cls: cls.__name__)
def test_variants_failing_everywhere_are_rejected_with_the_real_cause(
    runs: tuple[dict[str, Any], Outcomes], variant: type[SQLiteStranger]
) -> None:
    status, report = runs[0][variant.__name__]
    assert status == 1, report["verdict"]
    failures = cli_failures(report)
    assert failures, report["verdict"]
    assert all("not bytes" in message for message in failures.values()), failures
    assert not any("empty value read back as missing" in message for message in failures.values()), failures
    assert len([o for o in runs[1][variant.__name__].values() if o != "passed"]) > 20


@pytest.mark.parametrize("factory", NO_NAMESPACE)
def test_factories_without_a_namespace_are_never_certified(runs: tuple[dict[str, Any], Outcomes], factory: str) -> None:
    """Isolation cannot be checked without namespaces: a visible exception, exit 3, never CERTIFIED."""
    status, report = runs[0][factory]
    assert report["certified"] is False and status == 3, report["verdict"]
    assert any(line.startswith("not checked: ") for line in report["exceptions"]), report["exceptions"]
    assert report["verdict"].startswith("NOT CERTIFIED (no violation, but incomplete: not checked: ")
