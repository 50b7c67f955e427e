"""Stores written against the published interface only: this module imports nothing of sessionkv.

``DictSessionKVStore`` is shaped like the published docs' custom backend (it subclasses *its
own* ``SessionKVStore`` ABC, takes a ``key_prefix``, declares no capabilities and has no
``touch``) and is correct. ``IndexedStore`` keeps its keys sorted, declares
``directory_listing="indexed"`` as a plain mapping and counts ``keys_examined``: correct too. The
other classes each add one real defect; ``BROKEN`` names the conformance tests that must fail for
each. The ``*_store`` functions are ``--factory`` targets.
"""

from __future__ import annotations

import abc
import bisect
import fnmatch
import time
from typing import Any

#: the shared "server" of the factory functions below (one dict, many key prefixes)
SERVER: dict[str, tuple[bytes, float]] = {}
NO_EXPIRY = float("inf")


class SessionKVStore(abc.ABC):
    """The published abstract store, as third-party code defines it (not sessionkv's)."""

    @abc.abstractmethod
    async def start(self) -> None: ...
    @abc.abstractmethod
    async def close(self) -> None: ...
    @abc.abstractmethod
    async def set(self, key: str, value: bytes, ttl: float, *, only_if_exists: bool = False) -> None: ...
    @abc.abstractmethod
    async def mset(self, items: list[tuple[str, bytes, float]]) -> None: ...
    @abc.abstractmethod
    async def get(self, key: str) -> bytes | None: ...
    @abc.abstractmethod
    async def mget(self, keys: list[str]) -> list[bytes | None]: ...
    @abc.abstractmethod
    async def expire(self, *keys: str, ttl: float) -> None: ...
    @abc.abstractmethod
    async def keys(self, prefix: str) -> list[str]: ...
    @abc.abstractmethod
    async def delete(self, keys: list[str]) -> None: ...


class DictSessionKVStore(SessionKVStore):
    """A correct in-process store: monotonic deadlines, keys under ``key_prefix`` in a shared dict."""

    def __init__(self, *, key_prefix: str = "vision_agents:", data: dict[str, tuple[bytes, float]] | None = None):
        self.key_prefix = key_prefix
        self.data = SERVER if data is None else data

    @staticmethod
    def new_data() -> dict[str, tuple[bytes, float]]:
        """An empty "server" this class can share between stores (the test suites make one per test)."""
        return {}

    def deadline(self, ttl: float) -> float:
        if ttl <= 0:
            raise ValueError("ttl must be > 0")
        return time.monotonic() + ttl

    def live(self, key: str) -> bytes | None:
        entry = self.data.get(self.key_prefix + key)
        return entry[0] if entry is not None and entry[1] > time.monotonic() else None

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def set(self, key: str, value: bytes, ttl: float, *, only_if_exists: bool = False) -> None:
        if only_if_exists and self.live(key) is None:
            return
        self.data[self.key_prefix + key] = (bytes(value), self.deadline(ttl))

    async def mset(self, items: list[tuple[str, bytes, float]]) -> None:
        for key, value, ttl in items:
            await self.set(key, value, ttl)

    async def get(self, key: str) -> bytes | None:
        return self.live(key)

    async def mget(self, keys: list[str]) -> list[bytes | None]:
        return [self.live(key) for key in keys]

    async def expire(self, *keys: str, ttl: float) -> None:
        for key in keys:
            value = self.live(key)
            if value is not None:
                self.data[self.key_prefix + key] = (value, self.deadline(ttl))

    async def keys(self, prefix: str) -> list[str]:
        cut, now = len(self.key_prefix), time.monotonic()
        start = self.key_prefix + prefix
        entries = list(self.data.items())
        return [full[cut:] for full, (_, deadline) in entries if full.startswith(start) and deadline > now]

    async def delete(self, keys: list[str]) -> None:
        for key in keys:
            self.data.pop(self.key_prefix + key, None)


class DeclaringStore(DictSessionKVStore):
    """Correct too, and declares its limits as a plain mapping and implements ``touch``."""

    capabilities = {"ttl_resolution": 0.001, "min_ttl": 0.001, "max_value_size": 1024 * 1024}

    async def set(self, key: str, value: bytes, ttl: float, *, only_if_exists: bool = False) -> None:
        if len(value) > 1024 * 1024:
            raise ValueError("value too large")  # never reached through sessionkv.adapt
        await super().set(key, value, ttl, only_if_exists=only_if_exists)

    async def touch(self, keys: list[str], ttl: float) -> list[str]:
        missing = [key for key in keys if self.live(key) is None]
        await self.expire(*keys, ttl=ttl)
        return missing


class NoExpiryForTinyTTL(DictSessionKVStore):
    """Declares microsecond ttls but sends whole milliseconds, where 0 means 'no expiry' (the PX 0 mistake)."""

    capabilities = {"ttl_resolution": 0.001, "min_ttl": 0.000001}

    def deadline(self, ttl: float) -> float:
        if ttl <= 0:
            raise ValueError("ttl must be > 0")
        millis = int(ttl * 1000)
        return NO_EXPIRY if millis == 0 else time.monotonic() + millis / 1000


class GlobKeys(DictSessionKVStore):
    """``keys(prefix)`` matches ``prefix*`` as a glob, so ``*``, ``?`` and ``[`` in a prefix are wildcards."""

    async def keys(self, prefix: str) -> list[str]:
        return [key for key in await super().keys("") if fnmatch.fnmatchcase(key, prefix + "*")]


class ZeroTTLForever(DictSessionKVStore):
    """Accepts ``ttl <= 0`` and keeps the key forever (memcached's exptime 0), instead of refusing it."""

    def deadline(self, ttl: float) -> float:
        return NO_EXPIRY if ttl <= 0 else time.monotonic() + ttl


class SortedData(dict[str, tuple[bytes, float]]):
    """A dict that also keeps its keys in sorted order, so every prefix is one contiguous range."""

    def __init__(self) -> None:
        super().__init__()
        self.order: list[str] = []

    def __setitem__(self, key: str, value: tuple[bytes, float]) -> None:
        if key not in self:
            bisect.insort(self.order, key)
        super().__setitem__(key, value)

    def pop(self, key: str, default: Any = None) -> Any:
        if key in self:
            del self.order[bisect.bisect_left(self.order, key)]
        return super().pop(key, default)


SORTED_SERVER = SortedData()


class IndexedStore(DictSessionKVStore):
    """Correct: lists a prefix as a range of its sorted keys, declares that, and counts the entries it examines."""

    capabilities = {"ttl_resolution": 0.001, "min_ttl": 0.001, "directory_listing": "indexed"}

    def __init__(self, *, key_prefix: str = "vision_agents:", data: SortedData | None = None):
        super().__init__(key_prefix=key_prefix, data=SORTED_SERVER if data is None else data)
        self.keys_examined: int | None = 0

    @staticmethod
    def new_data() -> SortedData:
        return SortedData()

    def count(self, examined: int) -> None:
        """Add the entries one listing examined to ``keys_examined``."""
        assert self.keys_examined is not None
        self.keys_examined += examined

    async def keys(self, prefix: str) -> list[str]:
        assert isinstance(self.data, SortedData)
        order, start, cut, now = self.data.order, self.key_prefix + prefix, len(self.key_prefix), time.monotonic()
        found, i = [], bisect.bisect_left(order, start)
        first = i
        while i < len(order) and order[i].startswith(start):
            if self.data[order[i]][1] > now:
                found.append(order[i][cut:])
            i += 1
        self.count(i - first + (i < len(order)))  # the range, and the entry that ended it
        return found


class UncountedIndexedStore(IndexedStore):
    """Correct, declares an index, but does not count ``keys_examined`` (the suite cannot certify the cost)."""

    def __init__(self, *, key_prefix: str = "vision_agents:", data: SortedData | None = None):
        super().__init__(key_prefix=key_prefix, data=data)
        self.keys_examined = None

    def count(self, examined: int) -> None:
        pass


class ClaimsIndexedButScans(DictSessionKVStore):
    """Declares ``directory_listing="indexed"`` but reads its whole dict on every listing (and counts that)."""

    capabilities = {"directory_listing": "indexed"}

    def __init__(self, *, key_prefix: str = "vision_agents:", data: dict[str, tuple[bytes, float]] | None = None):
        super().__init__(key_prefix=key_prefix, data=data)
        self.keys_examined = 0

    async def keys(self, prefix: str) -> list[str]:
        self.keys_examined += len(self.data)
        return await super().keys(prefix)


class CounterNeverMoves(IndexedStore):
    """Declares an index and has a ``keys_examined`` counter, but never adds to it."""

    def count(self, examined: int) -> None:
        pass


#: defective store -> the conformance tests that must fail for it (all others must pass)
BROKEN: dict[type[DictSessionKVStore], set[str]] = {
    NoExpiryForTinyTTL: {
        "test_ttl_tiny_and_sub_millisecond_round_up_not_forever",
        "test_expire_tiny_ttl_rounds_up_not_forever",
        "test_touch_tiny_ttl_rounds_up_not_forever",
    },
    GlobKeys: {"test_keys_prefix_is_literal_not_glob", "test_items_gives_each_live_key_with_its_value"},
    ZeroTTLForever: {"test_ttl_bad_values_rejected_with_nothing_written"},
    ClaimsIndexedButScans: {"test_listing_a_directory_costs_its_entries"},
    CounterNeverMoves: {"test_listing_a_directory_costs_its_entries"},
}


def published_store(key_prefix: str = "vision_agents:") -> DictSessionKVStore:
    """``--factory`` target: a correct stranger on the shared dict."""
    return DictSessionKVStore(key_prefix=key_prefix)


def glob_store(key_prefix: str = "vision_agents:") -> DictSessionKVStore:
    """``--factory`` target: the glob defect."""
    return GlobKeys(key_prefix=key_prefix)


def indexed_store(key_prefix: str = "vision_agents:") -> IndexedStore:
    """``--factory`` target: a correct stranger declaring (and counting) an indexed listing."""
    return IndexedStore(key_prefix=key_prefix)


def uncounted_indexed_store(key_prefix: str = "vision_agents:") -> UncountedIndexedStore:
    """``--factory`` target: declares an indexed listing but does not count what it examines."""
    return UncountedIndexedStore(key_prefix=key_prefix)


def scanning_store(key_prefix: str = "vision_agents:") -> ClaimsIndexedButScans:
    """``--factory`` target: declares an indexed listing but scans its whole dict."""
    return ClaimsIndexedButScans(key_prefix=key_prefix)


def unprefixed_store() -> DictSessionKVStore:
    """``--factory`` target taking no namespace: every store shares one prefix (and its own dict)."""
    return DictSessionKVStore(key_prefix="one:", data={})


def not_a_store() -> object:
    """``--factory`` target returning something without the published methods."""
    return object()
