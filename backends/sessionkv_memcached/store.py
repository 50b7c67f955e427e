"""``MemcachedStore``: sessionkv on one memcached server (1.6 or newer) through aiomcache's connection pool.

- TTLs are whole seconds: memcached's clock ticks once a second, so an item sent with exptime N
  lives between N-1 and N seconds (measured). The store sends ``ceil(ttl) + 1`` (never 0, which
  memcached reads as "never"): a key never expires early and outlives its ttl by under 2 s, hence
  ``ttl_resolution`` 2 s and ``min_ttl`` 1 s. Above 30 days the exptime is an absolute Unix time on
  the server's clock (its offset from ours is read at start).
- ``only_if_exists`` is ``replace``; ``expire`` and ``touch`` are ``touch``; ``mget`` is one
  ``get`` line per 100 keys; every call is ONE pipelined write of all its commands (plus a second
  round trip only when an index item must be created or pruned), never a round trip per key.
- Keys are encoded by ``keyspace`` (any Unicode, up to ``max_key_size``); ``keys(prefix)`` reads
  the directory index of ``index`` (cost: the entries under ``prefix``'s directory, not the cache).
- ``max_value_size`` is the server's ``item_size_max`` minus room for the item header; larger
  values raise ``ValueTooLargeError`` before anything is sent.
- Every call runs within ``timeout`` seconds; a failure or timeout raises ``StoreError`` and drops
  the connection it used, and the next call reconnects.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, TypeVar

from aiomcache.pool import Connection

from sessionkv import (
    Option,
    SessionKVStore,
    StoreCapabilities,
    StoreError,
    StoreNotStartedError,
    StoreURL,
)

from .config import OPTIONS, MemcachedConfig
from .index import DirectoryIndex
from .keyspace import KeySpace, server_namespace
from .protocol import Pipeline, ProtocolError, TimeoutPool, chunks, lease

T = TypeVar("T")

#: memcached reads an exptime above this many seconds as an absolute Unix time.
RELATIVE_LIMIT = 30 * 86400
#: Bytes of an item that are not the value: header, cas, key (<= 250) and line ends (measured: 309).
ITEM_OVERHEAD = 512
DEFAULT_ITEM_SIZE = 1024 * 1024
#: Server failures turned into ``StoreError`` (``TimeoutError`` is handled first, with its own message).
SERVER_ERRORS = (OSError, EOFError, ProtocolError)

CAPABILITIES = StoreCapabilities(
    ttl_resolution=2.0,  # exptime ceil(ttl) + 1: lives (ceil(ttl), ceil(ttl) + 1] seconds
    min_ttl=1.0,
    max_ttl=None,
    max_value_size=DEFAULT_ITEM_SIZE - ITEM_OVERHEAD,  # start() reads the server's item_size_max
    max_key_size=8192,  # names are kept in index items, which share the item size limit
    atomic_mset=False,
)


class MemcachedStore(SessionKVStore):
    """A store on one memcached server: ``MemcachedStore("memcached://host:11211", namespace="app:")``."""

    capabilities = CAPABILITIES
    options: ClassVar[dict[str, Option]] = OPTIONS

    def __init__(
        self, url: str | StoreURL = "memcached://127.0.0.1:11211", /, *, namespace: str | None = None, **options: Any
    ) -> None:
        parsed = url if isinstance(url, StoreURL) else StoreURL.parse(url)
        if namespace is not None:
            options["namespace"] = namespace
        self.config = MemcachedConfig.from_url(parsed, options)
        self.namespace = self.config.namespace
        self._space = KeySpace(server_namespace(self.namespace))
        self._index = DirectoryIndex(self._space)
        self._pool: TimeoutPool | None = None
        self._clock_offset = 0.0

    @classmethod
    def from_url(cls, url: StoreURL, **overrides: Any) -> MemcachedStore:
        return cls(url, **overrides)

    # -- lifecycle ---------------------------------------------------------------------------------

    async def _start(self) -> None:
        cfg = self.config
        self._pool = TimeoutPool(cfg.host, cfg.port, size=cfg.pool_size, connect_timeout=cfg.connect_timeout)

        async def probe(conn: Connection) -> list[object]:
            pipe = Pipeline()
            pipe.version()
            pipe.stats(b"settings")
            pipe.stats()
            return await pipe.run(conn)

        try:
            version, settings, stats = await self._run("connect", probe)
        except BaseException:
            await self._drop_pool()
            raise
        assert isinstance(version, bytes) and isinstance(settings, dict) and isinstance(stats, dict)
        number = version.removeprefix(b"VERSION ").decode(errors="replace")
        if _too_old(number):
            await self._drop_pool()
            raise StoreError(f"memcached {number} at {cfg.address} is too old: this backend needs 1.6 or newer")
        item_size = int(settings.get(b"item_size_max", DEFAULT_ITEM_SIZE))
        self.capabilities = dataclasses.replace(CAPABILITIES, max_value_size=item_size - ITEM_OVERHEAD)
        if b"time" in stats:
            self._clock_offset = int(stats[b"time"]) - time.time()

    async def _close(self) -> None:
        await self._drop_pool()

    async def _drop_pool(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.clear()

    # -- operations --------------------------------------------------------------------------------

    async def _set(self, key: str, value: bytes, ttl: float, *, only_if_exists: bool) -> None:
        verb = b"replace" if only_if_exists else b"set"
        await self._write("set", [(key, value, ttl)], verb)

    async def _mset(self, items: list[tuple[str, bytes, float]]) -> None:
        await self._write("mset", items, b"set")

    async def _write(self, op: str, items: list[tuple[str, bytes, float]], verb: bytes) -> None:
        """One pipeline: the data items, then the index appends (deepest first); settle missing index items."""
        index, space = self._index, self._space
        plan = index.plan(key for key, _, _ in items)

        async def work(conn: Connection) -> None:
            pipe = Pipeline()
            for key, value, ttl in items:
                pipe.store(verb, space.data(key), value, self._exptime(ttl))
            order = index.append(pipe, plan)
            replies = await pipe.run(conn)
            stored = replies[: len(items)]
            if verb == b"set" and any(reply != b"STORED" for reply in stored):
                raise ProtocolError(f"set answered {next(r for r in stored if r != b'STORED')!r}")
            if verb == b"replace" and stored[0] != b"STORED":
                return  # the key was missing: nothing written (its index entry is pruned later)
            await index.settle(conn, plan, order, replies[len(items) :])
            await index.compact_due(conn, plan)

        await self._run(op, work)

    async def _get(self, key: str) -> bytes | None:
        return (await self._mget([key]))[0]

    async def _mget(self, keys: list[str]) -> list[bytes | None]:
        server_keys = [self._space.data(key) for key in keys]

        async def work(conn: Connection) -> list[object]:
            pipe = Pipeline()
            for part in chunks(server_keys):
                pipe.get(part)
            return await pipe.run(conn)

        found: dict[bytes, bytes] = {}
        for reply in await self._run("get" if len(keys) == 1 else "mget", work):
            assert isinstance(reply, dict)
            found.update(reply)
        return [found.get(key) for key in server_keys]

    async def _expire(self, keys: list[str], ttl: float) -> None:
        exptime = self._exptime(ttl)

        async def work(conn: Connection) -> None:
            pipe = Pipeline()
            for key in keys:
                pipe.touch(self._space.data(key), exptime)
            await pipe.run(conn)

        await self._run("expire", work)

    async def _touch(self, keys: list[str], ttl: float) -> list[str]:
        """``touch`` every key and read the epochs of their index items in one pipeline; repair changed ones."""
        exptime, index = self._exptime(ttl), self._index
        plan = index.plan(keys)

        async def work(conn: Connection) -> list[str]:
            pipe = Pipeline()
            for key in keys:
                pipe.touch(self._space.data(key), exptime)
            order = index.check_epochs(pipe, plan)
            replies = await pipe.run(conn)
            missing = [key for key, reply in zip(keys, replies, strict=False) if reply != b"TOUCHED"]
            changed = index.changed(order, replies[len(keys) :])
            if changed:
                live = [key for key, reply in zip(keys, replies, strict=False) if reply == b"TOUCHED"]
                live_plan = index.plan(live)
                repair = Pipeline()
                repaired = index.append(repair, live_plan, only=[k for k in live_plan if k in changed])
                await index.settle(conn, live_plan, repaired, await repair.run(conn))
            return missing

        return await self._run("touch", work)

    async def _keys(self, prefix: str) -> list[str]:
        return await self._run("keys", lambda conn: self._index.listing(conn, prefix))

    async def _delete(self, keys: list[str]) -> None:
        async def work(conn: Connection) -> None:
            pipe = Pipeline()
            for key in keys:
                pipe.delete(self._space.data(key))
            await pipe.run(conn)

        await self._run("delete", work)

    # -- helpers -------------------------------------------------------------------------------------

    def _exptime(self, ttl: float) -> int:
        """memcached's exptime for ``ttl``: ``ceil(ttl) + 1`` (never early; see the module docstring), absolute
        beyond 30 days."""
        seconds = math.ceil(ttl) + 1
        if seconds <= RELATIVE_LIMIT:
            return seconds
        return math.ceil(time.time() + self._clock_offset) + seconds

    async def _run(self, op: str, work: Callable[[Connection], Awaitable[T]]) -> T:
        """Run ``work`` on a pooled connection within the timeout; failures become ``StoreError``."""
        pool = self._pool
        if pool is None:
            raise StoreNotStartedError(f"{self!r} is not started: use `async with store:` or `await store.start()`")
        timeout = self.config.timeout
        try:
            async with asyncio.timeout(timeout):
                async with lease(pool) as conn:
                    return await work(conn)
        except TimeoutError as exc:
            raise StoreError(f"memcached {op} timed out after {timeout:g} s on {self.config.address}") from exc
        except SERVER_ERRORS as exc:
            raise StoreError(f"memcached {op} failed on {self.config.address}: {type(exc).__name__}: {exc}") from exc

    def __repr__(self) -> str:
        return f"<MemcachedStore {self.config.address} namespace={self.namespace!r}>"


def _too_old(version: str) -> bool:
    """True for memcached before 1.6 (no meta commands); unknown version strings are given the benefit."""
    parts = version.split(".")
    try:
        return (int(parts[0]), int(parts[1])) < (1, 6)
    except (ValueError, IndexError):
        return False
