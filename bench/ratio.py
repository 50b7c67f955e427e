"""The measuring discipline every figure follows: alternating adjacent blocks, repeated, ratios per pair.

A machine shared with other work drifts; two blocks run back to back see the same load, so the
ratio of their times cancels most of it. Each comparison calibrates a block of ``n`` calls
(about ``block`` seconds), then runs ``pairs`` pairs of blocks, alternating which side goes first,
and keeps every per-pair ratio: the median is the figure, the quartiles and extremes its spread.
"""

from __future__ import annotations

import contextlib
import gc
import statistics
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass

Call = Callable[[], Awaitable[object]]


@dataclass(frozen=True)
class Profile:
    """How long to measure: seconds per block, pairs per comparison (and rounds of one-call timing), calls a side
    per round of one-call timing (``latency.isolated``), whether this is the quick mode (smaller workloads), and
    whether a smoke run (``--smoke``: every suite once, quick sizes, one pair: CI checks that each benchmark runs;
    its figures mean nothing)."""

    block: float
    pairs: int
    round_calls: int
    quick: bool
    smoke: bool = False


FULL = Profile(block=0.05, pairs=21, round_calls=100, quick=False)
QUICK = Profile(block=0.01, pairs=5, round_calls=40, quick=True)
SMOKE = Profile(block=0.002, pairs=1, round_calls=3, quick=True, smoke=True)


@dataclass(frozen=True)
class Ratio:
    """Per-pair time ratios subject/baseline (> 1: the subject is slower) and each side's best time per call."""

    ratios: tuple[float, ...]
    subject_s: float
    baseline_s: float
    calls_per_block: int

    @property
    def median(self) -> float:
        return statistics.median(self.ratios)

    @property
    def p25(self) -> float:
        return quantile(self.ratios, 0.25)

    @property
    def p75(self) -> float:
        return quantile(self.ratios, 0.75)

    @property
    def low(self) -> float:
        return min(self.ratios)

    @property
    def high(self) -> float:
        return max(self.ratios)

    def spread(self) -> str:
        """``p25-p75`` as text, two significant figures each."""
        return f"{fmt_ratio(self.p25)}-{fmt_ratio(self.p75)}"


def quantile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated quantile (``q`` in [0, 1]) of a non-empty sample."""
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    below = int(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def fmt_ratio(value: float) -> str:
    """A ratio for a table: ``0.0123``, ``0.45``, ``1.07``, ``12.3``, ``1,234``."""
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    if value >= 0.1:
        return f"{value:.2f}"
    return f"{value:.2g}"


def fmt_seconds(seconds: float) -> str:
    """A duration for a table, in µs, ms or s."""
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Python's garbage collector run before, and off during, a timed stretch (its pauses would land at random)."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


async def timed(call: Call, n: int) -> float:
    """Seconds taken by ``n`` back-to-back awaits of ``call`` (garbage collected before, not during)."""
    with collector_paused():
        start = time.perf_counter()
        for _ in range(n):
            await call()
        return time.perf_counter() - start


async def calibrate(subject: Call, baseline: Call, block: float) -> int:
    """Calls per block so that the slower side's block lasts about ``block`` seconds (at least one call)."""
    n = 1
    while True:
        slower = max(await timed(subject, n), await timed(baseline, n))
        if slower >= block / 2 or n >= 1 << 20:
            return n
        n *= 2 if slower >= block / 8 else 4


async def compare(
    subject: Call, baseline: Call, profile: Profile, *, pairs: int | None = None, calls_per_block: int | None = None
) -> Ratio:
    """Time ``subject`` against ``baseline`` in alternating adjacent blocks (see the module docstring).

    Both are awaited once first (warm-up: connections, scripts, caches) and the block size is
    calibrated, unless ``calls_per_block`` is given (for calls of seconds, already warmed up).
    """
    if calls_per_block is None:
        await subject()
        await baseline()
        n = await calibrate(subject, baseline, profile.block)
    else:
        n = calls_per_block
    subject_times: list[float] = []
    baseline_times: list[float] = []
    ratios: list[float] = []
    for i in range(profile.pairs if profile.smoke else pairs or profile.pairs):
        if i % 2 == 0:
            s = await timed(subject, n)
            b = await timed(baseline, n)
        else:
            b = await timed(baseline, n)
            s = await timed(subject, n)
        subject_times.append(s)
        baseline_times.append(b)
        ratios.append(s / b)
    return Ratio(tuple(ratios), min(subject_times) / n, min(baseline_times) / n, n)
