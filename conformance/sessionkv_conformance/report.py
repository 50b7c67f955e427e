"""The certification report: run the suite on a URL in-process and group the outcome by area."""

from __future__ import annotations

import contextlib
import io
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from sessionkv.url import redact

from .runner import ADAPTED_PROPERTY, BACKEND_PROPERTY

OTHER_AREA = "other"


@dataclass
class TestResult:
    """One conformance test: its area, outcome (pass/adapted/FAIL/ERROR/SKIPPED/NOT RUN) and why."""

    __test__ = False

    name: str
    area: str
    outcome: str = "NOT RUN"
    adaptations: list[str] = field(default_factory=list)
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome in ("pass", "adapted")


@dataclass
class Certification:
    """Every result of one run, plus what the run said about the backend."""

    url: str
    results: dict[str, TestResult] = field(default_factory=dict)
    backend: str = ""
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def certified(self) -> bool:
        return bool(self.results) and not self.problems and all(r.ok for r in self.results.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": redact(self.url),
            "backend": self.backend,
            "certified": self.certified,
            "seconds": round(self.seconds, 2),
            "problems": self.problems,
            "results": [r.__dict__ for r in self.results.values()],
        }


class ReportCollector:
    """A pytest plugin object gathering results into a ``Certification``."""

    def __init__(self, cert: Certification) -> None:
        self.cert = cert

    def pytest_itemcollected(self, item: pytest.Item) -> None:
        marker = item.get_closest_marker("sessionkv_area")
        area = str(marker.args[0]) if marker and marker.args else OTHER_AREA
        self.cert.results[item.nodeid] = TestResult(name=item.name, area=area)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.cert.problems.append(f"collection of {report.nodeid or 'the suite'} failed: {_message(report)}")

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        for item in items:
            self.cert.results.pop(item.nodeid, None)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        result = self.cert.results.setdefault(report.nodeid, TestResult(name=report.nodeid, area=OTHER_AREA))
        for key, value in report.user_properties:
            if key == BACKEND_PROPERTY and not self.cert.backend:
                self.cert.backend = str(value)
            elif key == ADAPTED_PROPERTY and report.when == "call" and value not in result.adaptations:
                result.adaptations.append(str(value))
        if result.outcome in ("FAIL", "ERROR"):
            return  # keep the first failure
        if report.failed:
            result.outcome = "FAIL" if report.when == "call" else "ERROR"
            result.message = _message(report)
        elif report.skipped:
            result.outcome, result.message = "SKIPPED", _message(report)
        elif report.when == "call":
            result.outcome = "adapted" if result.adaptations else "pass"


def _message(report: pytest.TestReport | pytest.CollectReport) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    text = getattr(crash, "message", None) or str(report.longrepr or "")
    if isinstance(report.longrepr, tuple):  # skips: (path, line, reason)
        text = str(report.longrepr[2])
    lines = [line for line in text.splitlines() if line.strip()]
    return redact(" / ".join(lines[:3]))[:400]


def run_suite(url: str, *, verbose: bool = False, extra_args: list[str] | None = None) -> Certification:
    """Run ``pytest --pyargs sessionkv_conformance --sessionkv-url=URL`` in-process; collect the results.

    A throwaway ini file keeps the caller's pytest configuration (addopts, asyncio mode) out.
    """
    cert = Certification(url=url)
    with tempfile.TemporaryDirectory(prefix="sessionkv-check-") as tmp:
        ini = Path(tmp) / "pytest.ini"
        ini.write_text("[pytest]\n")
        args = [
            "--pyargs",
            "sessionkv_conformance",
            f"--sessionkv-url={url}",
            "-c",
            str(ini),
            "--rootdir",
            tmp,
            "-p",
            "no:cacheprovider",
            "-q" if verbose else "-qq",
            *(extra_args or []),
        ]
        started = time.monotonic()
        out = io.StringIO()
        sink: contextlib.AbstractContextManager[Any] = (
            contextlib.nullcontext() if verbose else contextlib.redirect_stdout(out)
        )
        with sink:
            code = pytest.main(args, plugins=[ReportCollector(cert)])
        cert.seconds = time.monotonic() - started
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        cert.problems.append(f"pytest exited with {code!r}: {redact(out.getvalue().strip()[-500:])}")
    return cert


def render(cert: Certification, areas: list[str]) -> str:
    """The report text: a header, one block per area, every adaptation's reason, the verdict."""
    lines = [f"sessionkv conformance report for {redact(cert.url)}"]
    if cert.backend:
        lines.append(f"backend: {cert.backend}")
    by_area: dict[str, list[TestResult]] = {}
    for result in cert.results.values():
        by_area.setdefault(result.area, []).append(result)
    order = [a for a in areas if a in by_area] + sorted(set(by_area) - set(areas))
    for area in order:
        results = by_area[area]
        passed = sum(r.ok for r in results)
        lines += ["", f"{area} ({passed}/{len(results)} ok)"]
        for r in results:
            lines.append(f"  {r.outcome:<8} {r.name}")
            lines += [f"           adapted: {reason}" for reason in r.adaptations]
            if r.message and not r.ok:
                lines.append(f"           {r.message}")
    lines.append("")
    lines += [f"problem: {p}" for p in cert.problems]
    counts = {k: sum(r.outcome == k for r in cert.results.values()) for k in ("pass", "adapted", "FAIL", "ERROR")}
    other = len(cert.results) - sum(counts.values())
    summary = ", ".join(f"{n} {k}" for k, n in counts.items()) + (f", {other} skipped or not run" if other else "")
    verdict = "CERTIFIED" if cert.certified else "NOT CERTIFIED"
    lines.append(f"{verdict}: {summary} in {cert.seconds:.1f}s")
    return "\n".join(lines)
