"""``MemoryStore``: a dict with monotonic-clock expiry, lazy on read plus a periodic sweep.

Listing a directory (a prefix ending in ``/``) costs its entries, not the store's size: see
``sessionkv_memory.data``.

``memory://NAME`` gives every store opened with the same NAME in one process the same data
(each store object starts and closes on its own), so several registries can share it.
"""

from __future__ import annotations

import time
import weakref
from typing import Any, ClassVar

from sessionkv import (
    NAMESPACE_OPTION,
    ConfigurationError,
    Option,
    Periodic,
    SessionKVStore,
    StoreCapabilities,
    StoreURL,
    Version,
    Versioned,
    resolve_options,
)

from .data import Keyspaces
from .versions import EntryVersion

_named: weakref.WeakValueDictionary[str, Keyspaces] = weakref.WeakValueDictionary()


def shared_data(name: str) -> Keyspaces:
    """The data for ``memory://NAME``; lives while any store opened on NAME exists."""
    data = _named.get(name)
    if data is None:
        data = Keyspaces()
        _named[name] = data
    return data


class MemoryStore(SessionKVStore):
    """An in-process store; private unless given a ``name`` (then shared in this process)."""

    capabilities = StoreCapabilities(
        ttl_resolution=0.001,
        min_ttl=0.000001,
        atomic_mset=True,
        linearizable=True,
        fencing="strict",
        directory_listing="indexed",
    )
    #: Keys the directory walk examined for ``keys()`` (the suite's listing-cost check).
    keys_examined: int = 0
    db_system_name = "memory"  # OpenTelemetry db.system.name (sessionkv.telemetry)
    options: ClassVar[dict[str, Option]] = {
        "namespace": NAMESPACE_OPTION,
        "cleanup_interval": Option(float, 30.0, "seconds between sweeps of expired keys", positive=True),
    }

    def __init__(
        self,
        *,
        name: str | None = None,
        namespace: str = NAMESPACE_OPTION.default,
        cleanup_interval: float = 30.0,
        clock: Any = time.monotonic,
    ) -> None:
        self.name = name
        self.namespace = namespace
        self.cleanup_interval = cleanup_interval
        self._spaces = shared_data(name) if name else Keyspaces()
        self._data = self._spaces.space(namespace)  # this namespace's own dict: keys are never prefixed
        self._clock = clock
        self._sweeper = Periodic(cleanup_interval, self._sweep, "memory sweep of expired keys")

    @classmethod
    def from_url(cls, url: StoreURL, **overrides: Any) -> MemoryStore:
        if url.username or url.password or len(url.hosts) > 1 or (url.host and url.host.port):
            raise ConfigurationError("memory:// takes only an optional NAME: memory:// or memory://NAME")
        if url.path not in ("", "/"):
            raise ConfigurationError(f"memory:// takes no path, got {url.path!r}")

        opts = resolve_options(cls.options, url.query, overrides, scheme="memory")
        return cls(name=url.host.host if url.host else None, **opts)

    async def _start(self) -> None:
        self._sweeper.start()

    async def _close(self) -> None:
        await self._sweeper.stop()

    async def _sweep(self) -> None:
        self._spaces.sweep(self._clock())

    # The methods below inline ``MemoryData.live`` (a dict lookup and a deadline check): they are the
    # whole cost of memory://, and bench/ holds them within 2x of a bare dict doing the same work.

    async def _set(self, key: str, value: bytes, ttl: float, *, only_if_exists: bool) -> None:
        now = self._clock()
        data = self._data
        if not only_if_exists:  # an upsert: live or expired, the entry is replaced (and is already filed)
            if key in data.items:
                data.items[key] = (value, now + ttl)
            else:
                data.put(key, value, now + ttl)
            return
        entry = data.items.get(key)
        if entry is None:
            if not only_if_exists:
                data.put(key, value, now + ttl)
            return
        if entry[1] <= now:  # expired: drop it (and its index entry) before deciding
            data.remove(key)
            if not only_if_exists:
                data.put(key, value, now + ttl)
            return
        data.items[key] = (value, now + ttl)

    _mset_in_order = True  # a dict write: a repeated key's last item wins by itself

    async def _mset(self, items: list[tuple[str, bytes, float]]) -> None:
        self._data.put_items(items, self._clock())

    async def _get(self, key: str) -> bytes | None:
        entry = self._data.items.get(key)
        if entry is None:
            return None
        if entry[1] <= self._clock():
            self._data.remove(key)
            return None
        return entry[0]

    async def _mget(self, keys: list[str]) -> list[bytes | None]:
        now, items = self._clock(), self._data.items
        found: list[bytes | None] = []
        for key in keys:
            entry = items.get(key)
            if entry is None:
                found.append(None)
            elif entry[1] <= now:
                self._data.remove(key)
                found.append(None)
            else:
                found.append(entry[0])
        return found

    async def _expire(self, keys: list[str], ttl: float) -> None:
        await self._touch(keys, ttl)

    async def _touch(self, keys: list[str], ttl: float) -> list[str]:
        now, items = self._clock(), self._data.items
        deadline = now + ttl
        missing: list[str] = []
        for key in keys:
            entry = items.get(key)
            if entry is None:
                missing.append(key)
            elif entry[1] <= now:
                self._data.remove(key)
                missing.append(key)
            else:
                items[key] = (entry[0], deadline)
        return missing

    async def _keys(self, prefix: str) -> list[str]:
        found, examined = self._data.under(prefix, self._clock())
        self.keys_examined += examined
        return found

    async def _delete(self, keys: list[str]) -> None:
        remove = self._data.remove
        for key in keys:
            remove(key)

    # -- concurrency: one event loop, no await between check and write, so each is atomic ---------

    def _current(self, key: str, now: float) -> tuple[bytes, float] | None:
        """The live entry under ``key`` (an expired one is removed on the way)."""
        return self._data.items.get(key) if self._data.live(key, now) is not None else None

    async def _add(self, key: str, value: bytes, ttl: float) -> bool:
        now = self._clock()
        if self._current(key, now) is not None:
            return False
        self._data.put(key, value, now + ttl)
        return True

    async def _get_versioned(self, key: str) -> Versioned | None:
        entry = self._current(key, self._clock())
        return None if entry is None else Versioned(entry[0], EntryVersion(entry))

    async def _cas(self, key: str, value: bytes, ttl: float, version: Version | None) -> Version | None:
        now = self._clock()
        current = self._current(key, now)
        if version is None:
            if current is not None:
                return None
        elif current is None or not isinstance(version, EntryVersion) or version.entry is not current:
            return None
        entry = (value, now + ttl)
        self._data.put_entry(key, entry)
        return EntryVersion(entry)

    async def _delete_if(self, key: str, version: Version) -> bool:
        current = self._current(key, self._clock())
        if current is None or not isinstance(version, EntryVersion) or version.entry is not current:
            return False
        self._data.remove(key)
        return True

    def __repr__(self) -> str:
        where = f"memory://{self.name}" if self.name else "memory://"
        return f"<MemoryStore {where} namespace={self.namespace!r}>"
