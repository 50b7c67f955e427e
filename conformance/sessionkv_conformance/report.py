"""The certification report: run the suite in-process on a URL or factory and group the outcome.

The report says what was certified, lists every test by area, then separates contract
violations (failures, with the compared values and where) from adaptations (what the suite
adjusted to, with the reason; never failures).
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from sessionkv import redact

from .runner import (
    ADAPTED_PROPERTY,
    BACKEND_PROPERTY,
    LISTING_COST_PROPERTY,
    LISTING_PROPERTY,
    STORE_NOTE_PROPERTY,
    UNCHECKED_PROPERTY,
)

OTHER_AREA = "other"
#: lines of a failure's explanation kept in the report (the rest is in `--verbose` output)
MESSAGE_LINES = 12
#: characters of one failure's explanation kept in the report, and of any one of its lines
MESSAGE_CHARS = 4000
LINE_CHARS = 400
#: ``sessionkv check`` exit statuses (documented in docs/certifying.md)
EXIT_CERTIFIED = 0
EXIT_VIOLATION = 1
EXIT_CANNOT_RUN = 2
EXIT_INCOMPLETE = 3
#: the test certifying ``capabilities.directory_listing`` (the report says what it found)
LISTING_TEST = "test_listing_a_directory_costs_its_entries"


@dataclass
class TestResult:
    """One conformance test: its area, outcome (pass/adapted/FAIL/ERROR/SKIPPED/NOT RUN) and why."""

    __test__ = False

    name: str
    area: str
    outcome: str = "NOT RUN"
    adaptations: list[str] = field(default_factory=list)
    message: str = ""
    where: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome in ("pass", "adapted")


@dataclass
class Certification:
    """Every result of one run, plus what the run said about the store."""

    target: str
    results: dict[str, TestResult] = field(default_factory=dict)
    backend: str = ""
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    exit_code: int = 0
    seconds: float = 0.0
    #: the ``directory_listing`` the store declared and what listing its directories cost, as the check recorded
    listing_declared: str = ""
    listing_cost: str = ""
    #: tests left out by ``-k`` (a subset run is never CERTIFIED)
    deselected: int = 0
    #: promises the run could not check (e.g. namespace isolation), with the test that tried
    unchecked: list[tuple[str, str]] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """Every test that ran passed (adapted ones included) and the suite ran whole."""
        return bool(self.results) and not self.problems and all(r.ok for r in self.results.values())

    @property
    def complete(self) -> bool:
        """Nothing was left out: no ``-k`` subset and every promise could be checked."""
        return self.deselected == 0 and not self.unchecked

    @property
    def certified(self) -> bool:
        return self.passed and self.complete

    @property
    def status(self) -> int:
        """The exit status of ``sessionkv check``: 0 certified, 1 a violation, 3 passed but incomplete."""
        if self.certified:
            return EXIT_CERTIFIED
        return EXIT_INCOMPLETE if self.passed else EXIT_VIOLATION

    def exceptions(self) -> list[str]:
        """Why a run with no violation is still not certified, one line each."""
        found = []
        if self.deselected:
            ran = len(self.results)
            found.append(f"subset run: {ran} of {ran + self.deselected} tests (-k); the rest was not run")
        found += [f"not checked: {promise} ({name})" for name, promise in self.unchecked]
        return found

    def verdict(self) -> str:
        if self.certified:
            return "CERTIFIED"
        if self.passed:
            return "NOT CERTIFIED (no violation, but incomplete: " + "; ".join(self.exceptions()) + ")"
        return "NOT CERTIFIED"

    @property
    def nothing_selected(self) -> bool:
        return self.exit_code == pytest.ExitCode.NO_TESTS_COLLECTED and not self.problems

    def violations(self) -> list[TestResult]:
        return [r for r in self.results.values() if r.outcome in ("FAIL", "ERROR")]

    def adaptations(self) -> list[tuple[str, str]]:
        return [(r.name, reason) for r in self.results.values() for reason in r.adaptations]

    def directory_listing(self) -> dict[str, Any] | None:
        """What was declared as ``directory_listing`` and whether the listing-cost check certified it (None: not
        run)."""
        result = next((r for r in self.results.values() if r.name == LISTING_TEST), None)
        if result is None or not self.listing_declared:
            return None
        return {
            "declared": self.listing_declared,
            "certified": result.ok and bool(self.listing_cost),
            "outcome": result.outcome,
            "cost": self.listing_cost,
            "adaptations": list(result.adaptations),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": redact(self.target),
            "backend": self.backend,
            "certified": self.certified,
            "verdict": self.verdict(),
            "exit_status": self.status,
            "complete": self.complete,
            "exceptions": self.exceptions(),
            "deselected": self.deselected,
            "seconds": round(self.seconds, 2),
            "directory_listing": self.directory_listing(),
            "store_adaptations": self.notes,
            "violations": [r.__dict__ for r in self.violations()],
            "adaptations": [{"name": name, "reason": reason} for name, reason in self.adaptations()],
            "problems": self.problems,
            "results": [r.__dict__ for r in self.results.values()],
        }


class ReportCollector:
    """A pytest plugin object gathering results into a ``Certification`` (public hooks only)."""

    def __init__(self, cert: Certification) -> None:
        self.cert = cert

    def pytest_itemcollected(self, item: pytest.Item) -> None:
        marker = item.get_closest_marker("sessionkv_area")
        area = str(marker.args[0]) if marker and marker.args else OTHER_AREA
        self.cert.results[item.nodeid] = TestResult(name=item.name, area=area)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            message, _ = _explain(report)
            self.cert.problems.append(f"collection of {report.nodeid or 'the suite'} failed: {message}")

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        for item in items:
            self.cert.results.pop(item.nodeid, None)
        self.cert.deselected += len(items)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        result = self.cert.results.setdefault(report.nodeid, TestResult(name=report.nodeid, area=OTHER_AREA))
        for key, value in report.user_properties:
            if key == BACKEND_PROPERTY and not self.cert.backend:
                self.cert.backend = str(value)
            elif key == STORE_NOTE_PROPERTY and value not in self.cert.notes:
                self.cert.notes.append(str(value))
            elif key == LISTING_PROPERTY:
                self.cert.listing_declared = str(value)
            elif key == LISTING_COST_PROPERTY:
                self.cert.listing_cost = str(value)
            elif key == UNCHECKED_PROPERTY and (result.name, str(value)) not in self.cert.unchecked:
                self.cert.unchecked.append((result.name, str(value)))
            elif key == ADAPTED_PROPERTY and report.when == "call" and value not in result.adaptations:
                result.adaptations.append(str(value))
        if result.outcome in ("FAIL", "ERROR"):
            return  # keep the first failure
        if report.failed:
            result.outcome = "FAIL" if report.when == "call" else "ERROR"
            result.message, result.where = _explain(report)
        elif report.skipped:
            result.outcome, result.where = "SKIPPED", ""
            result.message = _explain(report)[0]
        elif report.when == "call":
            result.outcome = "adapted" if result.adaptations else "pass"


def listing_line(cert: Certification) -> str:
    """One report line: the declared ``directory_listing`` and whether the suite certified what listing costs."""
    listing = cert.directory_listing()
    if listing is None:
        return ""
    head = f"directory listing: {listing['declared']!r}"
    adapted = "; ".join(listing["adaptations"])
    if listing["certified"]:
        return f"{head}, certified: {listing['cost']}" + (f" (adapted: {adapted})" if adapted else "")
    if listing["outcome"] == "adapted":
        return f"{head}, not certified: {adapted}"
    if listing["outcome"] in ("FAIL", "ERROR"):
        return f"{head}, FAILED (see contract violations)"
    return f"{head}, not checked ({listing['outcome']})"


def _explain(report: pytest.TestReport | pytest.CollectReport) -> tuple[str, str]:
    """The failure's explanation (assert comparison included) and where: first frame -> failing line."""
    longrepr: Any = report.longrepr
    if isinstance(longrepr, tuple):  # skips: (path, line, reason)
        return redact(str(longrepr[2])), ""
    crash = getattr(longrepr, "reprcrash", None)
    text = getattr(crash, "message", None) or str(longrepr or "")
    lines = [line.rstrip() for line in text.splitlines() if line.strip() and not line.strip().startswith("Use -v")]
    lines = [bounded(line, LINE_CHARS) for line in lines]
    if len(lines) > MESSAGE_LINES:
        lines = [*lines[:MESSAGE_LINES], "... (run with --verbose for the full comparison)"]
    while sum(map(len, lines)) > MESSAGE_CHARS and len(lines) > 1:
        lines = [*lines[:-2], "... (run with --verbose for the full comparison)"]
    entries = getattr(getattr(longrepr, "reprtraceback", None), "reprentries", None) or []
    first = getattr(entries[0], "reprfileloc", None) if entries else None
    where = [_location(first.path, first.lineno)] if first is not None else []
    if crash is not None and _location(crash.path, crash.lineno) not in where:
        where.append(_location(crash.path, crash.lineno))
    return redact("\n".join(lines)), " -> ".join(where)


def bounded(line: str, limit: int) -> str:
    """``line`` cut to ``limit`` characters, saying how long it was (a message may quote a 1 MiB value)."""
    if len(line) <= limit:
        return line
    return f"{line[: limit - 40]}... ({len(line):,} characters, cut)"


def _location(path: str, lineno: int) -> str:
    parts = Path(str(path)).parts
    return f"{'/'.join(parts[-2:])}:{lineno}"


@contextlib.contextmanager
def _isolated_pytest() -> Iterator[None]:
    """No other pytest plugin (their warnings would open the report) and no PYTEST_ADDOPTS, for the run only."""
    saved = {name: os.environ.get(name) for name in ("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "PYTEST_ADDOPTS")}
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    os.environ.pop("PYTEST_ADDOPTS", None)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def run_suite(target: str, option: str, *, verbose: bool = False, extra_args: list[str] | None = None) -> Certification:
    """Run ``pytest --pyargs sessionkv_conformance OPTION`` in-process and collect the results.

    ``option`` names the store (``--sessionkv-url=...`` or ``--sessionkv-factory=...``); ``target``
    is how the report names it. A throwaway ini file keeps the caller's pytest configuration out,
    and only this suite's plugin is loaded.
    """
    cert = Certification(target=target)
    with tempfile.TemporaryDirectory(prefix="sessionkv-check-") as tmp:
        ini = Path(tmp) / "pytest.ini"
        ini.write_text("[pytest]\nverbosity_assertions = 2\n")  # full comparisons in failure messages
        args = ["--pyargs", "sessionkv_conformance", option, "-c", str(ini), "--rootdir", tmp]
        args += ["-p", "sessionkv_conformance.plugin", "-p", "no:cacheprovider", "-q" if verbose else "-qq"]
        args += extra_args or []
        started = time.monotonic()
        out = io.StringIO()
        sink: contextlib.AbstractContextManager[Any] = (
            contextlib.nullcontext() if verbose else contextlib.redirect_stdout(out)
        )
        with _isolated_pytest(), sink:
            code = pytest.main(args, plugins=[ReportCollector(cert)])
        cert.seconds = time.monotonic() - started
    cert.exit_code = int(code)
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED, pytest.ExitCode.NO_TESTS_COLLECTED):
        tail = redact(out.getvalue().strip()[-500:])
        cert.problems.append(f"pytest stopped ({pytest.ExitCode(code).name.lower().replace('_', ' ')}): {tail}")
    return cert


def render(cert: Certification, areas: list[str]) -> str:
    """The report text: what was certified, one block per area, violations, adaptations, the verdict."""
    lines = ["sessionkv conformance report", f"target: {redact(cert.target)}"]
    if cert.backend:
        lines.append(f"store:  {cert.backend}")
    listing = listing_line(cert)
    if listing:
        lines.append(listing)
    if cert.notes:
        lines.append("how the suite adapted to the store (not violations):")
        lines += [f"  {note}" for note in cert.notes]
    by_area: dict[str, list[TestResult]] = {}
    for result in cert.results.values():
        by_area.setdefault(result.area, []).append(result)
    order = [a for a in areas if a in by_area] + sorted(set(by_area) - set(areas))
    for area in order:
        results = by_area[area]
        lines += ["", f"{area} ({sum(r.ok for r in results)}/{len(results)} ok)"]
        for r in results:
            lines.append(f"  {r.outcome:<8} {r.name}")
            lines += [f"           adapted: {reason}" for reason in r.adaptations]
            if r.outcome == "SKIPPED" and r.message:
                lines.append(f"           {r.message}")
    violations = cert.violations()
    lines += ["", f"contract violations: {len(violations)}"]
    for r in violations:
        lines.append(f"  {r.outcome} {r.name} ({r.area})")
        lines += [f"      {line}" for line in r.message.splitlines()]
        if r.where:
            lines.append(f"      at {r.where}")
    adaptations = cert.adaptations()
    lines.append(f"adaptations (not violations): {len(adaptations)}")
    lines += [f"  {name}: {reason}" for name, reason in adaptations]
    lines.append("")
    lines += [f"problem: {p}" for p in cert.problems]
    counts = {k: sum(r.outcome == k for r in cert.results.values()) for k in ("pass", "adapted", "FAIL", "ERROR")}
    other = len(cert.results) - sum(counts.values())
    summary = ", ".join(f"{n} {k}" for k, n in counts.items()) + (f", {other} skipped or not run" if other else "")
    lines += [f"exception: {e}" for e in cert.exceptions()]
    lines.append(f"{cert.verdict()}: {summary} in {cert.seconds:.1f}s")
    return "\n".join(lines)
