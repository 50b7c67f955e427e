"""etcd leases as TTLs: grant, share and reuse them within the declared resolution, revoke the empty ones.

A lease's TTL is whole seconds and cannot change, so a key's ttl is a lease chosen so that the key
never expires early and at most ``LATENESS`` seconds late (plus etcd's own expiry check, every
0.5 s): a new lease gets ``ceil(ttl + REUSE_WINDOW)`` seconds, and a later request reuses it while
that rule still holds (for up to ``1 + REUSE_WINDOW`` seconds after the grant), so a burst of writes
shares one lease. Keys moved to newer leases (``expire``/``touch``) leave old leases empty: a
background sweep asks etcd which of this store's older leases still hold keys and revokes the
others, so a long-running node keeps a bounded number of leases.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sessionkv import Periodic

log = logging.getLogger(__name__)

#: Seconds added to a ttl before rounding up to the lease's whole seconds, so the lease can be reused.
REUSE_WINDOW = 0.25
#: Upper bound on how much later than asked a lease may end (rounding up + reuse), before etcd's check.
LATENESS = 1.0 + REUSE_WINDOW
#: A lease is never reused after this age, and only leases older than it are swept.
SWEEP_MIN_AGE = 2.0 + REUSE_WINDOW
#: Leases ending sooner than this are left to lapse: cheaper than asking etcd about them.
SWEEP_MIN_REMAINING = 10.0
#: Seconds between sweeps; and the first and largest wait before asking again about a lease with keys.
SWEEP_INTERVAL = 5.0
RECHECK_MAX = 300.0
#: Leases asked about per sweep, and at once.
SWEEP_BATCH = 200
SWEEP_CONCURRENCY = 8
#: Seconds ``close`` spends at most revoking the leases left without keys.
CLOSE_SWEEP_TIMEOUT = 5.0

#: Sends one v3 API request (path, JSON body) and returns the JSON reply.
Call = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]


@dataclass
class Lease:
    """One lease this store granted: ``ttl`` whole seconds, asked for at ``sent``, answered at ``received``."""

    id: int
    ttl: int
    sent: float
    received: float
    users: int = 0
    #: False once a write using it failed: it may still land later, so the lease is left to lapse.
    sweepable: bool = True
    next_check: float = 0.0
    recheck: float = SWEEP_INTERVAL

    def reusable_for(self, ttl: float, now: float) -> bool:
        """True if a key written now for ``ttl`` may use this lease: never early, at most ``LATENESS`` late."""
        return self.sent + self.ttl >= now + ttl and self.received + self.ttl <= now + ttl + LATENESS

    def gone_by(self, now: float) -> bool:
        """True once etcd has certainly expired it (granted before ``received``, plus its check interval)."""
        return now > self.received + self.ttl + 1.0


def lease_seconds(ttl: float) -> int:
    """The whole seconds of a new lease for ``ttl``: never shorter, room for ``REUSE_WINDOW`` of reuse."""
    return max(1, math.ceil(ttl + REUSE_WINDOW))


class LeasePool:
    """The leases of one store: hands them out for writes, and sweeps the ones left without keys."""

    def __init__(self, call: Call, clock: Callable[[], float] = time.monotonic) -> None:
        self._call = call
        self._clock = clock
        self._leases: dict[int, Lease] = {}
        self._granting: dict[int, asyncio.Future[Lease]] = {}
        self._sweeper = Periodic(SWEEP_INTERVAL, self.sweep, "etcd lease sweep")

    @property
    def tracked(self) -> int:
        """How many of this store's leases may still be alive on the server."""
        return len(self._leases)

    @contextlib.asynccontextmanager
    async def lease(self, ttl: float, *, fresh: bool = False) -> AsyncIterator[int]:
        """The ID of a lease for ``ttl`` (a reused one unless ``fresh``), kept from sweeps while in use."""
        lease = None if fresh else self._reusable(ttl)
        if lease is None:
            lease = await self._grant(lease_seconds(ttl), shared=not fresh)
        lease.users += 1
        try:
            yield lease.id
        except BaseException:
            lease.sweepable = False
            raise
        finally:
            lease.users -= 1

    def _reusable(self, ttl: float) -> Lease | None:
        now = self._clock()
        for lease in self._leases.values():
            if now - lease.sent < SWEEP_MIN_AGE and lease.reusable_for(ttl, now):
                return lease
        return None

    async def _grant(self, seconds: int, *, shared: bool) -> Lease:
        """Grant a lease of ``seconds``; concurrent shared requests for the same length share one grant."""
        pending = self._granting.get(seconds) if shared else None
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Lease] = asyncio.get_running_loop().create_future()
        if shared:
            self._granting[seconds] = future
        try:
            sent = self._clock()
            reply = await self._call("/lease/grant", {"TTL": str(seconds)})
            lease = Lease(int(reply["ID"]), seconds, sent, self._clock())
            lease.next_check = lease.sent + SWEEP_MIN_AGE
            self._leases[lease.id] = lease
            future.set_result(lease)
            return lease
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters get it through shield; nobody else must be warned
            raise
        finally:
            if self._granting.get(seconds) is future:
                del self._granting[seconds]

    # -- sweeping ------------------------------------------------------------------------------

    def start_sweeping(self) -> None:
        """Run ``sweep`` every ``SWEEP_INTERVAL`` seconds in the background until ``stop_sweeping``."""
        self._sweeper.start()

    async def stop_sweeping(self) -> None:
        """Stop the background sweep, then revoke the leases left without keys (leases with keys stay).

        Without this last pass, a key deleted shortly before ``close`` would leave its lease on the
        server until the lease's own TTL, which for a long ttl is hours or years. Best effort, bounded
        by ``CLOSE_SWEEP_TIMEOUT``: a failure is logged and the leases lapse on their own.
        """
        await self._sweeper.stop()
        now = self._clock()
        due = [
            lease
            for lease in self._leases.values()
            if lease.users == 0 and lease.sweepable and not lease.gone_by(now) and lease.received + lease.ttl > now + 1
        ]
        limit = asyncio.Semaphore(SWEEP_CONCURRENCY)
        try:
            async with asyncio.timeout(CLOSE_SWEEP_TIMEOUT):
                await asyncio.gather(*(self._check(lease, limit) for lease in due))
        except Exception as exc:  # close must not fail: the leases lapse by themselves
            log.warning("etcd lease sweep at close stopped early (%s): leases left to lapse", type(exc).__name__)

    async def sweep(self) -> int:
        """Revoke this store's older leases that hold no key any more; return how many were revoked."""
        now = self._clock()
        for lease_id in [lid for lid, lease in self._leases.items() if lease.gone_by(now)]:
            del self._leases[lease_id]
        due = [
            lease
            for lease in self._leases.values()
            if lease.users == 0
            and lease.sweepable
            and now - lease.sent >= SWEEP_MIN_AGE
            and lease.next_check <= now
            and lease.sent + lease.ttl - now > SWEEP_MIN_REMAINING
        ]
        due.sort(key=lambda lease: lease.next_check)
        limit = asyncio.Semaphore(SWEEP_CONCURRENCY)
        results = await asyncio.gather(*(self._check(lease, limit) for lease in due[:SWEEP_BATCH]))
        return sum(results)

    async def _check(self, lease: Lease, limit: asyncio.Semaphore) -> bool:
        async with limit:
            reply = await self._call("/kv/lease/timetolive", {"ID": str(lease.id), "keys": True})
            if int(reply.get("TTL", -1)) <= 0:  # already expired or revoked
                self._leases.pop(lease.id, None)
                return False
            if reply.get("keys") or lease.users:
                lease.recheck = min(lease.recheck * 2, RECHECK_MAX)
                lease.next_check = self._clock() + lease.recheck
                return False
            await self._call("/kv/lease/revoke", {"ID": str(lease.id)})
            self._leases.pop(lease.id, None)
            return True
