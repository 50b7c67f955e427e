"""One call on an idle client: the latency of each call, ours and the baseline's, alternating call by call.

``ratio.compare`` times blocks of back-to-back calls: a stream at one task. A single call in a service
comes after a pause (its caller did other work), and on a machine whose processors sleep while they
wait, a stream and a call after a pause cost differently (the Redis notes in ``docs/backends/redis.md``
show how). Here each call follows an idle ``IDLE`` seconds and is timed on its own; the two sides
alternate call by call, so both see the same moments of the machine. A round is ``Profile.round_calls``
calls per side; its figure is the ratio of the two sides' median call, and the rounds give the spread.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass

from .ratio import Call, Profile, collector_paused, quantile

#: Seconds each call waits, idle, before it is sent (the event loop sleeps: nothing else runs).
IDLE = 0.001


@dataclass(frozen=True)
class Latencies:
    """Every timed call of both sides (seconds) and each round's ratio of median calls, subject/baseline."""

    subject: tuple[float, ...]
    baseline: tuple[float, ...]
    rounds: tuple[float, ...]

    @property
    def median(self) -> float:
        """The median round's ratio of median calls: the figure."""
        return statistics.median(self.rounds)

    def tail(self, q: float) -> float:
        """Ratio of the two sides' ``q`` quantiles over every call (``0.99``: p99 against p99)."""
        return quantile(self.subject, q) / quantile(self.baseline, q)

    @property
    def subject_call(self) -> float:
        """Median seconds of one subject call."""
        return statistics.median(self.subject)

    @property
    def baseline_call(self) -> float:
        """Median seconds of one baseline call."""
        return statistics.median(self.baseline)


async def isolated(subject: Call, baseline: Call, profile: Profile) -> Latencies:
    """Time ``subject`` and ``baseline`` call by call, each after ``IDLE`` seconds idle (module docstring).

    ``profile.pairs`` rounds of ``profile.round_calls`` calls a side; which side goes first alternates from call
    to call (S B B S S B ...). Python's garbage collector is off while a round runs, as in ``ratio.timed``.
    """
    await subject()
    await baseline()
    subject_s: list[float] = []
    baseline_s: list[float] = []
    rounds: list[float] = []
    for _ in range(profile.pairs):
        ours: list[float] = []
        theirs: list[float] = []
        with collector_paused():
            for i in range(2 * profile.round_calls):
                call, times = (subject, ours) if i % 4 in (0, 3) else (baseline, theirs)
                await asyncio.sleep(IDLE)
                start = time.perf_counter()
                await call()
                times.append(time.perf_counter() - start)
        rounds.append(statistics.median(ours) / statistics.median(theirs))
        subject_s += ours
        baseline_s += theirs
    return Latencies(tuple(subject_s), tuple(baseline_s), tuple(rounds))
