"""TTL timings derived from a store's declared capabilities, so waits scale with the backend.

memory:// (1 ms resolution) waits tens of milliseconds; a 1 s-resolution backend waits seconds.
The "gone" deadline is exactly ttl + declared resolution + a small scheduling allowance, so a
backend that keeps keys longer than it declares fails.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import weakref
from dataclasses import dataclass

from sessionkv import SessionKVStore, StoreCapabilities

#: allowance for event-loop scheduling and a round trip, added to every "gone" deadline
SCHEDULING_SLACK = 0.025
#: A short ttl must outlast this many simple round trips (a test writes and lists, then reads back several times).
ROUND_TRIPS_PER_SHORT_TTL = 30

#: The median of a few round trips measured when each test's store was set up (see ``measure_round_trip``).
_round_trips: weakref.WeakKeyDictionary[object, float] = weakref.WeakKeyDictionary()


async def measure_round_trip(store: SessionKVStore, samples: int = 5) -> float:
    """Time ``samples`` reads of a missing key and remember their median for ``Timing.of``; returns it.

    The median, not the slowest: one scheduling hiccup on a busy machine must not stretch every ttl.
    """
    times = []
    for _ in range(samples):
        started = time.monotonic()
        await store.get("skvc-round-trip-probe")
        times.append(time.monotonic() - started)
    _round_trips[store] = statistics.median(times)
    return _round_trips[store]


@dataclass(frozen=True)
class Timing:
    """Short ttls and wait lengths for one backend."""

    resolution: float
    min_ttl: float
    short: float  # a ttl long enough to read the key back a few times, short enough to wait for
    long: float = 3600.0  # never expires during a test

    @classmethod
    def of(cls, store: SessionKVStore) -> Timing:
        """Timings from the declared capabilities, with short ttls raised to outlast the measured round trips."""
        caps: StoreCapabilities = store.capabilities
        declared = max(0.05, caps.min_ttl, caps.ttl_resolution)
        round_trip = _round_trips.get(store, 0.0)
        short = max(declared, round(ROUND_TRIPS_PER_SHORT_TTL * round_trip, 2))
        if short > declared:
            from .runner import adapted

            adapted(
                f"a round trip takes {round_trip * 1000:.0f} ms: short ttls raised from {declared:g} s to "
                f"{short:g} s so a test's reads fit inside them"
            )
        return cls(resolution=caps.ttl_resolution, min_ttl=caps.min_ttl, short=short)

    @property
    def window(self) -> float:
        """A ttl leaving ample time (despite a busy machine) to refresh or update a key before it expires."""
        return max(0.25, 2 * self.short)

    @property
    def slack(self) -> float:
        return SCHEDULING_SLACK + 0.05 * self.resolution

    def gone_after(self, ttl: float) -> float:
        """Seconds after a write with ``ttl`` when the key must be gone (ttl rounded up to min_ttl)."""
        return max(ttl, self.min_ttl) + self.resolution + self.slack

    def still_there_before(self, ttl: float) -> float:
        """Seconds after a write with ``ttl`` when the key must still be readable ("shortly before")."""
        return max(ttl - max(0.02, 0.4 * ttl, self.resolution / 2), 0.0)


class Clock:
    """Measures from a point in time so several checks share one sleep."""

    def __init__(self) -> None:
        self.start = time.monotonic()

    async def until(self, offset: float) -> None:
        """Sleep until ``offset`` seconds after start (no-op if already past)."""
        delay = self.start + offset - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)

    def elapsed(self) -> float:
        return time.monotonic() - self.start
