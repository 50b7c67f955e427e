"""``tiered(hot, durable)``: a hot cache in front of a durable store, itself a ``SessionKVStore``.

Why a store and not a wrapper: the registry, documents, leases and the conformance suite then work
on it unchanged, and it is certified like any backend. Both tiers may be any stores (third-party
ones and strangers too, through ``sessionkv.adapt``); the tiered store uses the durable tier's
namespace. The semantics (docs/tiered.md has them as a table):

- writes (``set``, ``mset``, ``add``, ``cas``) go to the durable tier first, then to the hot tier;
  a write is acknowledged once the durable tier has it. If the durable write fails, the hot copies
  of its keys are dropped and the error is raised: the hot tier never keeps what durable lacks.
- ``get``/``mget`` try the hot tier, fall back to the durable one and warm the hot tier with what
  they found, for ``warm_ttl`` seconds (the durable tier does not say how long a key has left, so a
  warmed copy may outlive its key by that much: the tiered ``ttl_resolution`` declares it).
- ``delete``, ``expire`` and ``touch`` apply to both; ``keys()`` answers from the durable tier.
- ``add``, ``cas``, ``delete_if`` and ``get_versioned`` are decided by the durable tier alone; the
  hot copy is then updated (a won ``add``/``cas``) or dropped (a won ``delete_if``); a
  ``set(only_if_exists=True)`` drops it too (only the durable tier knows whether it wrote).
- the hot tier down: every call is served by the durable tier within ``hot_timeout``, one warning
  per outage, and the hot tier is used again once it answers (``sessionkv.tiered_hot``).

Ordering within one tiered store (one process): writes of a key hold that key's lock across both
steps (``KeyLocks``), so the hot tier applies them in the durable tier's order; warming uses the hot
tier's ``add`` (never overwriting a write) and is skipped when a drop or a recovery happened during
the durable read, and for every key written meanwhile or being written (``_Read``: else a copy the
hot tier lost just after such a write would come back older). So a reader never sees a value older
than one it already saw from the same tiered store. Across nodes see docs/tiered.md.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Awaitable, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from .adapt import adapt
from .capabilities import StoreCapabilities
from .errors import ConfigurationError
from .keylocks import KeyLocks
from .store import SessionKVStore, supports_versions
from .tiered_hot import SKIPPED, HotTier
from .versioned import Version, Versioned

T = TypeVar("T")

#: Seconds a hot call may take before the hot tier counts as down.
DEFAULT_HOT_TIMEOUT = 0.5
#: Seconds between two probes of a hot tier that is down.
DEFAULT_RETRY_INTERVAL = 1.0
#: Seconds a copy warmed by a read lives in the hot tier (at least the hot tier's min_ttl).
DEFAULT_WARM_TTL = 1.0
#: Allowance for the time between the durable read and the warming write, in the declared resolution.
WARM_SLACK = 0.05


def tiered_capabilities(hot: StoreCapabilities, durable: StoreCapabilities, warm_ttl: float) -> StoreCapabilities:
    """What the tiered store promises, from both tiers' declarations.

    Limits and versions are the durable tier's (a value or key the hot tier cannot hold is simply not
    cached there); ``min_ttl`` is the larger of both (a hot copy must not be rounded up past its
    key); ``ttl_resolution`` also covers a warmed copy outliving its key by ``warm_ttl``.
    """
    return StoreCapabilities(
        ttl_resolution=max(durable.ttl_resolution, hot.ttl_resolution + warm_ttl + WARM_SLACK),
        min_ttl=max(hot.min_ttl, durable.min_ttl),
        max_ttl=durable.max_ttl,
        max_value_size=durable.max_value_size,
        max_key_size=durable.max_key_size,
        atomic_mset=durable.atomic_mset,
        linearizable=durable.linearizable,
        fencing=durable.fencing,
        directory_listing=durable.directory_listing,
    )


class _Read:
    """A durable read in flight; ``overlapped``: its keys a write of this store finished meanwhile (not warmed)."""

    __slots__ = ("overlapped",)

    def __init__(self) -> None:
        self.overlapped: set[str] = set()


def _positive(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 or math.isinf(value):
        raise ConfigurationError(f"{name} must be a finite number of seconds > 0, got {value!r}")
    return float(value)


class TieredStore(SessionKVStore):
    """A hot store in front of a durable one (see the module docstring); build it with ``tiered()``."""

    db_system_name = None  # not recorded itself: each tier records its own calls (sessionkv.telemetry)

    def __init__(
        self,
        hot: Any,
        durable: Any,
        *,
        hot_timeout: float = DEFAULT_HOT_TIMEOUT,
        retry_interval: float = DEFAULT_RETRY_INTERVAL,
        warm_ttl: float = DEFAULT_WARM_TTL,
    ) -> None:
        #: The cache tier and the tier of record.
        self.hot, self.durable = adapt(hot), adapt(durable)
        if self.hot is self.durable:
            raise ConfigurationError("tiered(hot, durable) needs two different stores, got the same one twice")
        self._hot = HotTier(
            self.hot,
            timeout=_positive("hot_timeout", hot_timeout),
            retry_interval=_positive("retry_interval", retry_interval),
        )
        self._requested_warm_ttl = _positive("warm_ttl", warm_ttl)
        self.namespace = self.durable.namespace
        self._locks = KeyLocks()
        #: Bumped on every drop of hot copies: a read that overlapped one does not warm.
        self._drops = 0
        #: The durable reads in flight, per key: a write marks them overlapped for its keys (see ``_Read``).
        self._reads: dict[str, list[_Read]] = {}
        self._warm_with_add = supports_versions(self.hot)
        self._background: set[asyncio.Task[None]] = set()
        self._derive_capabilities()

    def _derive_capabilities(self) -> None:
        hot = self.hot.capabilities
        self.warm_ttl = max(self._requested_warm_ttl, hot.min_ttl)
        self.capabilities = tiered_capabilities(hot, self.durable.capabilities, self.warm_ttl)

    @property
    def degraded(self) -> bool:
        """True while the hot tier is down and every call is served by the durable tier."""
        return not self._hot.up

    @property
    def outages(self) -> int:
        """How many hot-tier outages this store has seen (one warning logged for each)."""
        return self._hot.outages

    @property
    def keys_examined(self) -> int | None:
        """The durable tier's count (``keys()`` is answered there)."""
        return self.durable.keys_examined

    @keys_examined.setter
    def keys_examined(self, value: int | None) -> None:
        self.durable.keys_examined = value

    # -- lifecycle --------------------------------------------------------------------------------

    async def _start(self) -> None:
        await self.durable.start()
        try:
            await self._hot.start()
        except BaseException:
            await self.durable.close()
            raise
        self._derive_capabilities()  # backends may read limits from their servers when they start

    async def _close(self) -> None:
        for task in list(self._background):
            await task
        try:
            await self._hot.close()
        finally:
            await self.durable.close()

    # -- helpers ----------------------------------------------------------------------------------

    def _fits(self, key: str, value: bytes) -> bool:
        """Whether the hot tier can hold this item (larger ones live in the durable tier only)."""
        caps = self.hot.capabilities
        if caps.plain:
            return True
        if caps.max_value_size is not None and len(value) > caps.max_value_size:
            return False
        return caps.max_key_size is None or len(key.encode("utf-8")) <= caps.max_key_size

    def _hot_ttl(self, ttl: float) -> float:
        limit = self.hot.capabilities.max_ttl
        return ttl if limit is None or ttl <= limit else limit

    async def _durable(self, call: Awaitable[T], keys: Sequence[str]) -> T:
        """Await a durable write; if it fails (it may still have been applied), drop the keys' hot copies."""
        try:
            return await call
        except asyncio.CancelledError:
            task = asyncio.get_running_loop().create_task(self._drop(keys))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
            raise
        except Exception:
            await self._drop(keys)
            raise

    async def _drop(self, keys: Sequence[str]) -> None:
        """Delete hot copies (a failure leaves them dirty, deleted before the hot tier is used again)."""
        self._drops += 1
        hot, listed = self.hot, list(keys)
        await self._hot.run(lambda: hot.delete(listed), listed)

    async def _write_hot(self, key: str, value: bytes, ttl: float) -> None:
        if not self._fits(key, value):
            await self._drop((key,))
            return
        hot, hot_ttl = self.hot, self._hot_ttl(ttl)
        await self._hot.run(lambda: hot.set(key, value, hot_ttl), (key,))

    def _may_warm(self, drops: int, recoveries: int) -> bool:
        """Whether a durable read that began at these counts may warm the hot tier now."""
        return self._hot.up and self._drops == drops and self._hot.recoveries == recoveries

    def _begin_read(self, keys: Sequence[str]) -> _Read:
        read = _Read()
        for key in keys:
            self._reads.setdefault(key, []).append(read)
        return read

    def _end_read(self, read: _Read, keys: Sequence[str]) -> None:
        for key in keys:
            readers = self._reads[key]
            readers.remove(read)
            if not readers:
                del self._reads[key]

    def _warmable(self, read: _Read, key: str) -> bool:
        """Whether a key this read got may be warmed: no write of it ended since the read began, none is in progress."""
        return key not in read.overlapped and not self._locks.held(key)

    @asynccontextmanager
    async def _writing(self, keys: Sequence[str]) -> AsyncIterator[None]:
        """Hold the keys' locks for a write; its end (done or failed) overlaps the reads in flight of its keys."""
        async with self._locks.hold(keys):
            try:
                yield
            finally:
                if self._reads:
                    for key in keys:
                        for read in self._reads.get(key, ()):
                            read.overlapped.add(key)

    async def _warm(self, found: list[tuple[str, bytes]]) -> None:
        """Copy values read from the durable tier into the hot tier, never over a newer write."""
        hot, ttl = self.hot, self.warm_ttl
        items = [(key, value) for key, value in found if self._fits(key, value)]
        keys = [key for key, _ in items]
        if not items:
            return
        if not self._warm_with_add:
            await self._hot.run(lambda: hot.mset([(key, value, ttl) for key, value in items]), keys)
        elif len(items) == 1:
            key, value = items[0]
            await self._hot.run(lambda: hot.add(key, value, ttl), keys)
        else:
            await self._hot.run(lambda: asyncio.gather(*(hot.add(key, value, ttl) for key, value in items)), keys)

    # -- writes -----------------------------------------------------------------------------------

    async def _set(self, key: str, value: bytes, ttl: float, *, only_if_exists: bool) -> None:
        async with self._writing((key,)):
            await self._durable(self.durable.set(key, value, ttl, only_if_exists=only_if_exists), (key,))
            if only_if_exists:
                await self._drop((key,))  # only the durable tier knows whether it wrote
            else:
                await self._write_hot(key, value, ttl)

    async def _mset(self, items: list[tuple[str, bytes, float]]) -> None:
        keys = [key for key, _, _ in items]
        async with self._writing(keys):
            await self._durable(self.durable.mset(items), keys)
            cached = [(key, value, self._hot_ttl(ttl)) for key, value, ttl in items if self._fits(key, value)]
            if len(cached) < len(items):
                fitting = {key for key, _, _ in cached}
                await self._drop([key for key in keys if key not in fitting])
            if cached:
                hot = self.hot
                await self._hot.run(lambda: hot.mset(cached), [key for key, _, _ in cached])

    async def _expire(self, keys: list[str], ttl: float) -> None:
        await self._touch(keys, ttl)

    async def _touch(self, keys: list[str], ttl: float) -> list[str]:
        async with self._writing(keys):
            missing = await self._durable(self.durable.touch(keys, ttl), keys)
            gone = set(missing)
            live = [key for key in keys if key not in gone]
            if live:  # only keys the durable tier has: a stray hot copy is never extended
                hot, hot_ttl = self.hot, self._hot_ttl(ttl)
                await self._hot.run(lambda: hot.expire(*live, ttl=hot_ttl), live)
            return missing

    async def _delete(self, keys: list[str]) -> None:
        async with self._writing(keys):
            await self._durable(self.durable.delete(keys), keys)
            await self._drop(keys)

    # -- reads ------------------------------------------------------------------------------------

    async def _get(self, key: str) -> bytes | None:
        guard = self._hot
        if guard.up:  # inlined guard.run: this is the hot path the tiered store exists for
            try:
                async with asyncio.timeout(guard.timeout):
                    value = await self.hot.get(key)
            except Exception as exc:
                guard.fail(exc, ())
            else:
                if value is not None:
                    return value
        counts = self._drops, guard.recoveries
        read = self._begin_read((key,))
        try:
            value = await self.durable.get(key)
        finally:
            self._end_read(read, (key,))
        if value is not None and self._may_warm(*counts) and self._warmable(read, key):
            await self._warm([(key, value)])
        return value

    async def _mget(self, keys: list[str]) -> list[bytes | None]:
        hot = self.hot
        got = await self._hot.run(lambda: hot.mget(keys))
        values: list[bytes | None] = [None] * len(keys) if got is SKIPPED else list(got)  # type: ignore[arg-type]
        missing = [i for i, value in enumerate(values) if value is None]
        if not missing:
            return values
        counts = self._drops, self._hot.recoveries
        wanted = [keys[i] for i in missing]
        read = self._begin_read(wanted)
        try:
            found = await self.durable.mget(wanted)
        finally:
            self._end_read(read, wanted)
        for i, value in zip(missing, found, strict=True):
            values[i] = value
        warm = [
            (key, value)
            for key, value in zip(wanted, found, strict=True)
            if value is not None and self._warmable(read, key)
        ]
        if warm and self._may_warm(*counts):
            await self._warm(warm)
        return values

    async def _keys(self, prefix: str) -> list[str]:
        return await self.durable.keys(prefix)

    # -- versions: decided by the durable tier alone ----------------------------------------------

    def _supports_versions(self) -> bool:
        return supports_versions(self.durable)

    async def _add(self, key: str, value: bytes, ttl: float) -> bool:
        async with self._writing((key,)):
            won = await self._durable(self.durable.add(key, value, ttl), (key,))
            if won:
                await self._write_hot(key, value, ttl)
            return won

    async def _get_versioned(self, key: str) -> Versioned | None:
        return await self.durable.get_versioned(key)

    async def _cas(self, key: str, value: bytes, ttl: float, version: Version | None) -> Version | None:
        async with self._writing((key,)):
            written = await self._durable(self.durable.cas(key, value, ttl, version=version), (key,))
            if written is not None:
                await self._write_hot(key, value, ttl)
            return written

    async def _delete_if(self, key: str, version: Version) -> bool:
        async with self._writing((key,)):
            deleted = await self._durable(self.durable.delete_if(key, version), (key,))
            if deleted:
                await self._drop((key,))
            return deleted

    def __repr__(self) -> str:
        state = " degraded" if self.degraded else ""
        return f"<TieredStore hot={self.hot!r} durable={self.durable!r}{state}>"


def tiered(
    hot: Any,
    durable: Any,
    *,
    hot_timeout: float = DEFAULT_HOT_TIMEOUT,
    retry_interval: float = DEFAULT_RETRY_INTERVAL,
    warm_ttl: float = DEFAULT_WARM_TTL,
) -> TieredStore:
    """A ``SessionKVStore`` keeping ``hot`` (a cache) in front of ``durable`` (the store of record); not started.

    ``hot_timeout``: seconds a hot call may take before the hot tier counts as down (then every call
    is served by the durable tier until a probe, every ``retry_interval`` seconds, gets an answer).
    ``warm_ttl``: seconds a copy warmed by a read lives in the hot tier; the tiered store's
    ``ttl_resolution`` grows by it. Starting and closing the tiered store starts and closes both.
    """
    return TieredStore(hot, durable, hot_timeout=hot_timeout, retry_interval=retry_interval, warm_ttl=warm_ttl)
