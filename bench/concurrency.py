"""Throughput under concurrency: K tasks doing one operation for a block, ops/s, ours against a bare client.

The latency figures (``bench.ratio``) await one call at a time; a service runs many at once, and a
client that coalesces or pipelines concurrent calls can beat one that does not (or lose to it).
Here each side runs ``tasks`` concurrent tasks, each awaiting ``calls`` calls back to back (task
``i`` gets ``i``, so every task can use keys of its own); a block's figure is all calls over its
wall time. The discipline is ``bench.ratio``'s: warm-up, calibrate the calls per task so the
slower side's block lasts about ``THROUGHPUT_BLOCK`` seconds, then adjacent blocks in pairs,
alternating which side goes first, and the median of the per-pair ratios is the figure.

``Throughput.ratio`` is that figure as ours/bare **ops/s** (> 1: ours serves more). For the chart
(a time ratio, < 1: ours faster) ``as_time_ratio`` gives the same pairs as time per operation, so
throughput bars read like every other bar. ``throughput_table`` and ``throughput_row`` put rows in
the report; every backend's throughput suite (and the Redis one) uses these, nothing else.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from .ratio import Profile, Ratio, collector_paused, fmt_ratio, quantile
from .report import Bar, Report, Table

#: One call of task ``i`` (its index: tasks use keys of their own).
TaskCall = Callable[[int], Awaitable[object]]

#: Concurrent tasks measured by every throughput suite.
LEVELS = (1, 16, 64)
#: Seconds of the slower side's block, and pairs of blocks, by profile.
THROUGHPUT_BLOCK = {True: 0.05, False: 0.25}
THROUGHPUT_PAIRS = {True: 3, False: 9}
#: ``--smoke``: one pair of blocks this long (the run only checks that each benchmark works)
SMOKE_BLOCK = 0.01
#: Calls per task at most (a fast in-memory side would otherwise calibrate without end).
MAX_CALLS = 1 << 16

COLUMNS = [
    "operation",
    "tasks",
    "baseline",
    "ours ops/s",
    "baseline ops/s",
    "ours/baseline ops/s",
    "p25-p75",
    "min-max",
]


@dataclass(frozen=True)
class Throughput:
    """Per-block ops/s of each side (pair ``i`` is ``ours[i]``, ``bare[i]``) at ``tasks`` concurrent tasks."""

    ours: tuple[float, ...]
    bare: tuple[float, ...]
    tasks: int
    calls_per_task: int

    @property
    def ratios(self) -> tuple[float, ...]:
        """ours/bare ops/s per pair (> 1: ours serves more)."""
        return tuple(o / b for o, b in zip(self.ours, self.bare, strict=True))

    @property
    def ratio(self) -> float:
        """The figure: the median of the per-pair ratios."""
        return statistics.median(self.ratios)

    @property
    def ours_rate(self) -> float:
        return statistics.median(self.ours)

    @property
    def bare_rate(self) -> float:
        return statistics.median(self.bare)

    def as_time_ratio(self) -> Ratio:
        """The same pairs as a time-per-operation ratio ours/bare (< 1: ours faster), for the chart."""
        calls = self.tasks * self.calls_per_task
        return Ratio(
            tuple(b / o for o, b in zip(self.ours, self.bare, strict=True)),
            1 / max(self.ours),
            1 / max(self.bare),
            calls,
        )


async def rate(call: TaskCall, tasks: int, calls: int) -> float:
    """Ops/s of ``tasks`` concurrent tasks each awaiting ``calls`` calls (garbage collected before, not during)."""

    async def worker(index: int) -> None:
        for _ in range(calls):
            await call(index)

    with collector_paused():
        start = time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(tasks)))
        elapsed = time.perf_counter() - start
    return tasks * calls / max(elapsed, 1e-9)


async def calibrate(subject: TaskCall, baseline: TaskCall, tasks: int, block: float) -> int:
    """Calls per task so that the slower side's block lasts about ``block`` seconds."""
    calls = 1
    while True:
        slower = tasks * calls / min(await rate(subject, tasks, calls), await rate(baseline, tasks, calls))
        if slower >= block / 2 or calls >= MAX_CALLS:
            return calls
        calls = min(MAX_CALLS, max(calls * 2, int(calls * block / max(slower, 1e-6))))


async def compare_throughput(
    subject: TaskCall, baseline: TaskCall, tasks: int, profile: Profile, *, pairs: int | None = None
) -> Throughput:
    """``subject`` against ``baseline`` at ``tasks`` concurrent tasks, in alternating adjacent blocks."""
    block = SMOKE_BLOCK if profile.smoke else THROUGHPUT_BLOCK[profile.quick]
    await rate(subject, tasks, 1)  # warm-up: connections of the pool, first keys
    await rate(baseline, tasks, 1)
    calls = await calibrate(subject, baseline, tasks, block)
    ours: list[float] = []
    bare: list[float] = []
    for i in range(1 if profile.smoke else pairs or THROUGHPUT_PAIRS[profile.quick]):
        if i % 2 == 0:
            ours.append(await rate(subject, tasks, calls))
            bare.append(await rate(baseline, tasks, calls))
        else:
            bare.append(await rate(baseline, tasks, calls))
            ours.append(await rate(subject, tasks, calls))
    return Throughput(tuple(ours), tuple(bare), tasks, calls)


def throughput_table(title: str, *notes: str) -> Table:
    """An empty table with the throughput columns."""
    return Table(title, list(COLUMNS), notes=list(notes))


def fmt_rate(value: float) -> str:
    """Ops/s for a table: ``9,400/s``."""
    return f"{value:,.0f}/s"


def throughput_row(report: Report, table: Table, group: str, operation: str, baseline: str, result: Throughput) -> None:
    """Add a throughput row to ``table`` and its bar (as a time ratio) to the chart."""
    ratios = result.ratios
    table.rows.append(
        [
            operation,
            str(result.tasks),
            baseline,
            fmt_rate(result.ours_rate),
            fmt_rate(result.bare_rate),
            f"**{fmt_ratio(result.ratio)}**",
            f"{fmt_ratio(quantile(ratios, 0.25))}-{fmt_ratio(quantile(ratios, 0.75))}",
            f"{fmt_ratio(min(ratios))}-{fmt_ratio(max(ratios))}",
        ]
    )
    label = f"{operation}, {result.tasks} concurrent, vs {baseline} (time per op)"
    report.bars.append(Bar(group, label, result.as_time_ratio()))


async def throughput_rows(
    report: Report,
    profile: Profile,
    table: Table,
    group: str,
    operations: Sequence[tuple[str, TaskCall, TaskCall]],
    baseline: str,
    levels: Sequence[int] = LEVELS,
) -> None:
    """For each ``(operation, ours, bare)`` and each level of ``levels``: one measured row."""
    for operation, ours, bare in operations:
        for tasks in levels:
            result = await compare_throughput(ours, bare, tasks, profile)
            throughput_row(report, table, group, operation, baseline, result)


def task_key(index: int) -> str:
    """The key task ``index`` uses (one per task: no two tasks read or write the same key)."""
    return f"bench/c{index}"
