"""Tables, chart bars and the machine description that make up ``latest.md``."""

from __future__ import annotations

import os
import platform
import re
import subprocess
import time
from dataclasses import dataclass, field
from importlib import metadata

from sessionkv import batch_check

from .latency import Latencies
from .ratio import Ratio, fmt_ratio, fmt_seconds, quantile

PACKAGES = (
    "sessionkv",
    "redis",
    "hiredis",
    "aiomcache",
    "aiohttp",
    "etcd3-py",
    "aioboto3",
    "moto",
    "aiocache",
    "asyncpg",
    "matplotlib",
)
LATENCY_COLUMNS = [
    "operation",
    "baseline",
    "ours/baseline, median call",
    "rounds p25-p75",
    "rounds min-max",
    "p90",
    "p99",
    "ours median call",
    "baseline median call",
]
RATIO_COLUMNS = ["operation", "baseline", "ours/baseline", "p25-p75", "min-max", "ours per call", "baseline per call"]


@dataclass
class Table:
    """One Markdown table with a title and notes under it."""

    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def markdown(self) -> str:
        lines = [f"### {self.title}", "", "| " + " | ".join(self.columns) + " |"]
        lines.append("|" + "|".join("---" if i == 0 else "---:" for i in range(len(self.columns))) + "|")
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        lines += ["", *(f"{note}" for note in self.notes)] if self.notes else []
        return "\n".join(lines)


@dataclass(frozen=True)
class Bar:
    """One bar of the chart: a group (panel), a label and the ratio with its spread."""

    group: str
    label: str
    ratio: Ratio


@dataclass(frozen=True)
class SoakPoint:
    """One checkpoint of a soak: keys churned so far, keys live then, and what the server held."""

    churned: int
    live: int
    footprint: int


@dataclass
class Report:
    """Everything one run produced, in order."""

    tables: list[Table] = field(default_factory=list)
    bars: list[Bar] = field(default_factory=list)
    #: per backend, the soak suite's checkpoints (drawn as lines under the bars)
    soak: dict[str, list[SoakPoint]] = field(default_factory=dict)
    servers: dict[str, str] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def ratio_row(self, table: Table, group: str, operation: str, baseline: str, ratio: Ratio) -> None:
        """Add a standard ratio row to ``table`` and its bar to the chart."""
        table.rows.append(
            [
                operation,
                baseline,
                f"**{fmt_ratio(ratio.median)}**",
                ratio.spread(),
                f"{fmt_ratio(ratio.low)}-{fmt_ratio(ratio.high)}",
                fmt_seconds(ratio.subject_s),
                fmt_seconds(ratio.baseline_s),
            ]
        )
        self.bars.append(Bar(group, f"{operation} vs {baseline}", ratio))

    def latency_row(self, table: Table, operation: str, baseline: str, latencies: Latencies) -> None:
        """Add a row of ``LATENCY_COLUMNS`` (one call on an idle client, ``latency.isolated``) to ``table``."""
        rounds = latencies.rounds
        table.rows.append(
            [
                operation,
                baseline,
                f"**{fmt_ratio(latencies.median)}**",
                f"{fmt_ratio(quantile(rounds, 0.25))}-{fmt_ratio(quantile(rounds, 0.75))}",
                f"{fmt_ratio(min(rounds))}-{fmt_ratio(max(rounds))}",
                fmt_ratio(latencies.tail(0.9)),
                fmt_ratio(latencies.tail(0.99)),
                fmt_seconds(latencies.subject_call),
                fmt_seconds(latencies.baseline_call),
            ]
        )


def gap_row(operation: str, baseline: str, reason: str, width: int = len(RATIO_COLUMNS)) -> list[str]:
    """A row that says clearly why there is no number (never a made-up one)."""
    return [operation, baseline, f"— *{reason}*", *([""] * (width - 3))]


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def package_versions() -> str:
    found = []
    for name in PACKAGES:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name} (not installed)")
    return ", ".join(found)


def batch_check_kind() -> str:
    """Whether the install compiled the per-item ``mset`` check (memory://'s ``mset`` ratio depends on it)."""
    if batch_check.COMPILED:
        return "compiled with mypyc at install"
    return "plain Python (the install could not compile it: expect memory://'s mset near 2.5x)"


def binary_version(argv: list[str]) -> str:
    """First version-looking token printed by ``argv`` (e.g. ``redis-server --version``)."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except OSError:
        return "not found"
    match = re.search(r"v?(\d+\.\d+(?:\.\d+)?)", done.stdout + done.stderr)  # PostgreSQL: 15.14
    return match.group(1) if match else "unknown"


def machine_section(report: Report, command: str, elapsed: float) -> str:
    servers = ", ".join(f"{name} {version}" for name, version in sorted(report.servers.items())) or "none"
    return "\n".join(
        [
            f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; command: `{command}`; took {elapsed:.0f} s",
            f"- machine: {cpu_model()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}",
            f"- Python {platform.python_version()}; {package_versions()}",
            f"- sessionkv's mset batch check: {batch_check_kind()}",
            f"- servers (started by the bench on loopback ports): {servers}",
        ]
    )


INTRO = """\
Every figure is a time ratio **ours / baseline** measured in the same run (< 1: ours is faster).
Each comparison runs adjacent blocks of calls, alternating which side goes first; the figure is the
median of the per-pair ratios, with the interquartile range (p25-p75) and the extremes. "per call"
is the best block's time divided by its calls. A row with "—" was not measured, and says why.
Tables of one call on an idle store time each call on its own instead; their notes say how."""


def render(report: Report, command: str, elapsed: float) -> str:
    parts = ["# sessionkv benchmark report", "", machine_section(report, command, elapsed), "", INTRO, ""]
    for table in report.tables:
        parts += [table.markdown(), ""]
    if report.failures:
        parts += ["### Not measured in this run", "", *(f"- {failure}" for failure in report.failures), ""]
    return "\n".join(parts)
