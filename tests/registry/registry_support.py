"""Helpers for the registry tests: a store wrapper that counts calls and can be made to fail."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable

from sessionkv import SessionKVStore, StoreError, Version, Versioned

#: The ``open_shared`` fixture: opens and starts another store on the test's shared URL.
OpenStore = Callable[[], Awaitable[SessionKVStore]]


class InstrumentedStore(SessionKVStore):
    """Delegates every call to a real store, counting calls per method; ``failing`` makes them raise.

    Counting calls is how the tests prove a heartbeat costs a constant number of store calls.
    """

    def __init__(self, inner: SessionKVStore) -> None:
        self.inner = inner
        self.capabilities = inner.capabilities
        self.namespace = inner.namespace
        self.calls: Counter[str] = Counter()
        #: keys written (set, mset, expire, touch), per key, over the instrumented store's life
        self.written: Counter[str] = Counter()
        self.failing = False
        #: When set, only these methods fail while ``failing`` is true.
        self.fail_only: set[str] | None = None

    def total(self) -> int:
        return sum(self.calls.values())

    def _enter(self, name: str) -> None:
        self.calls[name] += 1
        if self.failing and (self.fail_only is None or name in self.fail_only):
            raise StoreError(f"injected failure in {name}")

    async def _start(self) -> None:
        await self.inner.start()

    async def _close(self) -> None:
        await self.inner.close()

    async def _set(self, key: str, value: bytes, ttl: float, *, only_if_exists: bool) -> None:
        self._enter("set")
        self.written[key] += 1
        await self.inner.set(key, value, ttl, only_if_exists=only_if_exists)

    async def _mset(self, items: list[tuple[str, bytes, float]]) -> None:
        self._enter("mset")
        self.written.update(key for key, _, _ in items)
        await self.inner.mset(items)

    async def _get(self, key: str) -> bytes | None:
        self._enter("get")
        return await self.inner.get(key)

    async def _mget(self, keys: list[str]) -> list[bytes | None]:
        self._enter("mget")
        return await self.inner.mget(keys)

    async def _expire(self, keys: list[str], ttl: float) -> None:
        self._enter("expire")
        self.written.update(keys)
        await self.inner.expire(*keys, ttl=ttl)

    async def _touch(self, keys: list[str], ttl: float) -> list[str]:
        self._enter("touch")
        self.written.update(keys)
        return await self.inner.touch(keys, ttl)

    async def _keys(self, prefix: str) -> list[str]:
        self._enter("keys")
        return await self.inner.keys(prefix)

    async def _delete(self, keys: list[str]) -> None:
        self._enter("delete")
        await self.inner.delete(keys)

    async def _add(self, key: str, value: bytes, ttl: float) -> bool:
        self._enter("add")
        self.written[key] += 1
        return await self.inner.add(key, value, ttl)

    async def _get_versioned(self, key: str) -> Versioned | None:
        self._enter("get_versioned")
        return await self.inner.get_versioned(key)

    async def _cas(self, key: str, value: bytes, ttl: float, version: Version | None) -> Version | None:
        self._enter("cas")
        self.written[key] += 1
        return await self.inner.cas(key, value, ttl, version=version)

    async def _delete_if(self, key: str, version: Version) -> bool:
        self._enter("delete_if")
        return await self.inner.delete_if(key, version)


async def flush(store: SessionKVStore) -> int:
    """Delete every key of the store's namespace (a flush scoped to this test); returns how many."""
    keys = await store.keys("")
    if keys:
        await store.delete(keys)
    return len(keys)


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 10.0) -> None:
    """Poll the async ``check`` until it is true; fail after ``within`` seconds (a bound, not a timing assertion)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"condition {getattr(check, '__name__', check)!r} not reached in {within} s")
        await asyncio.sleep(0.01)


def true_when(predicate: Callable[[], bool]) -> Callable[[], Awaitable[bool]]:
    """An async check from a plain predicate, for ``eventually``."""

    async def check() -> bool:
        return predicate()

    return check


def short_ttl(store: SessionKVStore, wanted: float) -> float:
    """``wanted``, or the backend's minimum ttl if that is larger (etcd: 2 s)."""
    return max(wanted, store.capabilities.min_ttl)


def past_expiry(store: SessionKVStore, ttl: float) -> float:
    """Seconds after which a key written with ``ttl`` is surely gone: ttl + declared resolution + a margin."""
    return ttl + store.capabilities.ttl_resolution + 0.1


#: backend -> the session fixture (tests/servers/) giving its server; every registry test runs on each.
SERVER_FIXTURES: dict[str, str | None] = {
    "memory": None,
    "redis": "redis_server",
    "redis-cluster": "redis_cluster",
    "redis-sentinel": "redis_sentinel",
    "memcached": "memcached_server",
    "etcd": "etcd_server",
    "dynamodb": "dynamodb_server",
    "postgres": "postgres_server",
}
