"""The hot tier of a tiered store, guarded: every call bounded by a timeout, an outage handled once.

``HotTier.run(call)`` awaits a call on the hot store within ``timeout`` seconds. The first failure
(timeout, ``StoreError``, a dropped connection...) marks the tier *down*: one warning is logged for
the whole outage, the calls that follow skip the hot tier at once (no waiting), and a background
probe retries it every ``retry_interval`` seconds. While down, every key written through the tiered
store is remembered as *dirty* (its hot copy, if the server still holds one, may be older than the
durable value); when the probe gets an answer, the dirty keys are deleted from the hot tier first
(all of the hot tier's keys when more than ``MAX_DIRTY`` were written), and only then is the tier
used again, with one info line. A hot tier that comes back empty (restarted, flushed) simply fills
again. Why: a cache that is down must cost one timeout per outage, not one per call, and must never
serve a copy older than a write it missed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

from .cancelling import cancel_and_wait
from .store import SessionKVStore

log = logging.getLogger("sessionkv.tiered")

T = TypeVar("T")

#: Dirty keys remembered during one outage; past this, recovery clears the whole hot namespace.
MAX_DIRTY = 100_000
#: Keys deleted per call while recovering.
RECOVERY_BATCH = 500
#: The key the probe reads to see whether the hot tier answers again.
PROBE_KEY = "#tiered/probe"


class _Skipped:
    """The result of a hot call that was not made or did not succeed (see ``HotTier.run``)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "SKIPPED"


SKIPPED = _Skipped()


def describe(store: SessionKVStore) -> str:
    """How logs name a tier: its class and namespace (never a URL, so never a password)."""
    return f"{type(store).__name__} namespace={store.namespace!r}"


class HotTier:
    """The hot store with its timeout, its up/down state, the keys written while it was down and its probe."""

    def __init__(self, store: SessionKVStore, *, timeout: float, retry_interval: float) -> None:
        self.store = store
        self.timeout = timeout
        self.retry_interval = retry_interval
        #: False from the first failed call until the probe has cleared the dirty keys.
        self.up = True
        #: How many outages began (one warning each).
        self.outages = 0
        #: Bumped whenever hot copies are dropped behind readers' backs (recovery); see ``TieredStore``.
        self.recoveries = 0
        self._started = False
        self._dirty: set[str] = set()
        self._overflow = False
        self._down_since = 0.0
        self._probe: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the hot store; a hot tier that cannot be reached starts the tiered store degraded."""
        try:
            async with asyncio.timeout(self.timeout):
                await self.store.start()
            self._started = True
        except Exception as exc:
            self.fail(exc, ())

    async def close(self) -> None:
        """Stop the probe and close the hot store (its errors are logged, not raised: the durable tier has the data)."""
        if self._probe is not None:
            try:
                await cancel_and_wait(self._probe)
            except Exception:
                pass
            self._probe = None
        if self._started:
            self._started = False
            try:
                await self.store.close()
            except Exception as exc:
                log.warning("closing the hot tier (%s) failed: %s", describe(self.store), _reason(exc))

    async def run(self, call: Callable[[], Awaitable[T]], written: Iterable[str] = ()) -> T | _Skipped:
        """``await call()`` within the timeout; ``SKIPPED`` if the tier is down or the call fails.

        ``written``: the keys the call writes or deletes; they become dirty if it is skipped or fails.
        """
        if not self.up:
            self.mark_dirty(written)
            return SKIPPED
        try:
            async with asyncio.timeout(self.timeout):
                return await call()
        except Exception as exc:
            self.fail(exc, written)
            return SKIPPED

    def mark_dirty(self, keys: Iterable[str]) -> None:
        """Remember keys whose hot copy may be stale, to delete before the tier is used again."""
        if self._overflow:
            return
        self._dirty.update(keys)
        if len(self._dirty) > MAX_DIRTY:
            self._dirty.clear()
            self._overflow = True

    def fail(self, exc: BaseException, written: Iterable[str]) -> None:
        """Mark the tier down (logging once per outage) and start the probe."""
        self.mark_dirty(written)
        if not self.up:
            return
        self.up = False
        self.outages += 1
        self._down_since = time.monotonic()
        log.warning(
            "hot tier (%s) failed (%s): serving every call from the durable tier until it answers again",
            describe(self.store),
            _reason(exc),
        )
        if self._probe is None or self._probe.done():
            self._probe = asyncio.get_running_loop().create_task(self._recover())

    async def _recover(self) -> None:
        """Retry until the hot tier answers, delete what went stale meanwhile, then use it again."""
        while True:
            await asyncio.sleep(self.retry_interval)
            try:
                async with asyncio.timeout(self.timeout):
                    if not self._started:
                        await self.store.start()
                        self._started = True
                    await self.store.get(PROBE_KEY)
                await self._clear_dirty()
            except Exception:
                continue  # still down: try again after the interval (already logged once)
            self.recoveries += 1
            self.up = True
            log.info(
                "hot tier (%s) answers again after %.1f s: using it again",
                describe(self.store),
                time.monotonic() - self._down_since,
            )
            return

    async def _clear_dirty(self) -> None:
        """Delete the dirty keys (or every key, after an overflow); ends with none left, with no await after."""
        while self._overflow or self._dirty:
            if self._overflow:
                self._overflow = False
                self._dirty.clear()
                everything = await self._bounded(self.store.keys(""))
                for i in range(0, len(everything), RECOVERY_BATCH):
                    await self._bounded(self.store.delete(everything[i : i + RECOVERY_BATCH]))
                continue
            batch = [self._dirty.pop() for _ in range(min(RECOVERY_BATCH, len(self._dirty)))]
            try:
                await self._bounded(self.store.delete(batch))
            except Exception:
                self.mark_dirty(batch)
                raise

    async def _bounded(self, call: Awaitable[T]) -> T:
        async with asyncio.timeout(self.timeout):
            return await call


def _reason(exc: BaseException) -> str:
    """One line naming the error: its class and first line (backends' errors carry no password)."""
    text = str(exc).splitlines()[0][:200] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
