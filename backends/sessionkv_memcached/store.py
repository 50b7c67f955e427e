"""``MemcachedStore``: sessionkv on one memcached server (1.6 or newer) through aiomcache's connection pool.

- TTLs are whole seconds: memcached's clock ticks once a second, so an item sent with exptime N
  lives between N-1 and N seconds (measured). The store sends ``ceil(ttl) + 1`` (never 0, which
  memcached reads as "never"): a key never expires early and outlives its ttl by under 2 s, hence
  ``ttl_resolution`` 2 s and ``min_ttl`` 1 s. Above 30 days the exptime is an absolute Unix time on
  the server's clock (its offset from ours is read at start).
- ``only_if_exists`` is ``replace``; ``expire`` and ``touch`` are ``touch``; ``mget`` is one
  ``get`` line per 100 keys; every call is ONE pipelined write of all its commands (plus a second
  round trip only when an index item must be created or pruned), never a round trip per key.
- Concurrent ``get`` and ``set`` calls are coalesced (``sessionkv.coalesce``): the calls of one
  event-loop tick leave as one pipeline per connection (gets as one ``get`` line per 100 keys;
  sets with their index appends merged, one per shard, in the same write), at most ``pool_size``
  pipelines at once. A refused ``set`` or a ``SERVER_ERROR`` fails only its caller; a cancelled or
  timed-out caller is left out of its batch (or its reply dropped); only a lost connection (or a
  pipeline outliving ``timeout``) fails every call of that one pipeline.
- Keys are encoded by ``keyspace`` (any Unicode, up to ``max_key_size``); ``keys(prefix)`` reads
  the directory index of ``index`` (cost: the entries under ``prefix``'s directory, not the cache;
  so ``directory_listing="indexed"``, and ``keys_examined`` counts the index entries read).
- ``max_value_size`` is the server's ``item_size_max`` minus room for the item header; larger
  values raise ``ValueTooLargeError`` before anything is sent.
- Versions are memcached's cas uniques (a server-wide counter bumped by every store; ``touch``
  keeps it): ``get_versioned`` is ``mg v c``, ``add``/``cas(version=None)`` are ``ms ME``, ``cas`` is
  ``ms C<cas>`` and ``delete_if`` is ``md C<cas>``, each one atomic command on the server. ``add`` and
  ``cas`` file the key in the directory index as ``set`` does; ``delete_if`` leaves the entry to be
  pruned by the next listing, as ``delete`` does. A server started with ``-C`` (no cas) refuses them.
- Every call runs within ``timeout`` seconds; a failure or timeout raises ``StoreError`` and drops
  the connection it used, and the next call reconnects; a conditional write is never re-sent.
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
    UnsupportedOperationError,
    Version,
    Versioned,
)
from sessionkv.coalesce import Coalescer, Failed

from .config import OPTIONS, MemcachedConfig
from .index import DirectoryIndex
from .keyspace import KeySpace, server_namespace
from .protocol import Meta, Pipeline, ProtocolError, TimeoutPool, chunks, lease

T = TypeVar("T")
R = TypeVar("R")
#: A coalesced ``set``: key, ``set`` or ``replace``, value, ttl.
SetRequest = tuple[str, bytes, bytes, float]

#: memcached reads an exptime above this many seconds as an absolute Unix time.
RELATIVE_LIMIT = 30 * 86400
#: Bytes of an item that are not the value: header, cas, key (<= 250) and line ends (measured: 309).
ITEM_OVERHEAD = 512
DEFAULT_ITEM_SIZE = 1024 * 1024
#: Server failures turned into ``StoreError`` (``TimeoutError`` is handled first, with its own message).
SERVER_ERRORS = (OSError, EOFError, ProtocolError)
#: cas uniques are unsigned 64-bit and never 0 on a server with cas enabled.
MAX_CAS = 2**64 - 1

CAPABILITIES = StoreCapabilities(
    ttl_resolution=2.0,  # exptime ceil(ttl) + 1: lives (ceil(ttl), ceil(ttl) + 1] seconds
    min_ttl=1.0,
    max_ttl=None,
    max_value_size=DEFAULT_ITEM_SIZE - ITEM_OVERHEAD,  # start() reads the server's item_size_max
    max_key_size=8192,  # names are kept in index items, which share the item size limit
    atomic_mset=False,
    linearizable=False,  # one copy, but eviction and restarts lose acknowledged writes silently
    fencing="best_effort",  # a restart or eviction of a fence counter starts it again from 1
    directory_listing="indexed",  # a directory's index items hold its entries (and its sub-directories')
)


class MemcachedStore(SessionKVStore):
    """A store on one memcached server: ``MemcachedStore("memcached://host:11211", namespace="app:")``."""

    capabilities = CAPABILITIES
    options: ClassVar[dict[str, Option]] = OPTIONS
    #: index entries read by this store's listings (set in ``__init__``; see ``SessionKVStore.keys_examined``)
    keys_examined: int
    db_system_name = "memcached"  # OpenTelemetry db.system.name (sessionkv.telemetry)

    def __init__(
        self, url: str | StoreURL = "memcached://127.0.0.1:11211", /, *, namespace: str | None = None, **options: Any
    ) -> None:
        parsed = url if isinstance(url, StoreURL) else StoreURL.parse(url)
        if namespace is not None:
            options["namespace"] = namespace
        self.config = MemcachedConfig.from_url(parsed, options)
        self.namespace = self.config.namespace
        self._space = KeySpace(server_namespace(self.namespace))
        self._index = DirectoryIndex(self._space, lambda deadline: self._exptime(deadline - time.time() - 1))
        self._pool: TimeoutPool | None = None
        # concurrent get and set calls of one loop tick share one pipeline (sessionkv.coalesce)
        size = self.config.pool_size
        # (a lone call on an idle store goes at once, in its caller's task, bounded by its own timeout)
        self._gets: Coalescer[bytes, bytes | None] = Coalescer(
            self._send_gets, max_inflight=size, send_one=self._get_alone
        )
        self._sets: Coalescer[SetRequest, None] = Coalescer(
            self._send_sets, max_inflight=size, send_one=self._set_alone
        )
        self.keys_examined = 0
        self._clock_offset = 0.0
        self._cas_enabled = True

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
        self._cas_enabled = settings.get(b"cas_enabled", b"yes") != b"no"
        if b"time" in stats:
            self._clock_offset = int(stats[b"time"]) - time.time()

    async def _close(self) -> None:
        await self._gets.drain()
        await self._sets.drain()
        await self._drop_pool()

    async def _drop_pool(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.clear()

    # -- operations --------------------------------------------------------------------------------

    async def _set(self, key: str, value: bytes, ttl: float, *, only_if_exists: bool) -> None:
        verb = b"replace" if only_if_exists else b"set"
        await self._coalesced("set", self._sets, (key, verb, value, ttl))

    async def _set_alone(self, request: SetRequest) -> Failed | None:
        """A lone ``set`` on an idle store: ``_send_sets`` in the caller's task, under the caller's timeout."""
        return (await self._send_sets([request], bounded=False))[0]

    async def _send_sets(self, requests: list[SetRequest], *, bounded: bool = True) -> list[Failed | None]:
        """One pipeline for the ``set`` calls of one tick: their stores, then the index appends for all their keys
        (one per shard, deepest first) and the re-timing they need; then, if any wrote, the missing index items
        are created. A refused store, or a ``SERVER_ERROR`` on it or on an index shard its key is filed in, fails
        only the callers concerned; anything else (a lost connection) fails them all."""
        index, space = self._index, self._space
        pipe = Pipeline(isolate=True)
        for key, verb, value, ttl in requests:
            pipe.store(verb, space.data(key), value, self._exptime(ttl))
        plan = index.plan([r[0] for r in requests], [self._deadline(r[3]) for r in requests])
        count = len(requests)

        async def work(conn: Connection) -> list[Failed | None]:
            order = index.append(pipe, plan)
            due = index.raise_due(pipe, plan)
            replies = await pipe.run(conn)
            stored, appended = replies[:count], replies[count : count + len(order)]
            timed = replies[count + len(order) :]
            broken: dict[bytes, ProtocolError] = {}
            if any(isinstance(reply, ProtocolError) for reply in replies):  # a SERVER_ERROR (rare)
                pairs = [*zip(order, appended, strict=True), *index.retime_replies(due, timed)]
                broken = {k: r for k, r in pairs if isinstance(r, ProtocolError)}
            outcomes: list[Failed | None] = []
            wrote = False
            for (key, verb, _, _), reply in zip(requests, stored, strict=True):
                if reply == b"STORED":
                    wrote = True
                    error = index.error_for(key, broken) if broken else None
                    outcomes.append(None if error is None else Failed(error))
                elif isinstance(reply, ProtocolError):
                    outcomes.append(Failed(reply))
                elif verb == b"set":
                    outcomes.append(Failed(ProtocolError(f"set answered {reply!r}")))
                else:
                    outcomes.append(None)  # a replace of a missing key: refused, as asked
            if wrote:  # else nothing was written (its entries are pruned later)
                index.settled(plan, due, timed)
                if broken:
                    kept = [(k, r) for k, r in zip(order, appended, strict=True) if k not in broken]
                    order, appended = [k for k, _ in kept], [r for _, r in kept]
                await index.settle(conn, plan, order, appended)
                await index.compact_due(conn, plan)
            return outcomes

        return await self._pipelined(work, bounded=bounded)

    async def _mset(self, items: list[tuple[str, bytes, float]]) -> None:
        pipe = Pipeline()
        for key, value, ttl in items:
            pipe.store(b"set", self._space.data(key), value, self._exptime(ttl))
        keys, ttls = [key for key, _, _ in items], [ttl for _, _, ttl in items]
        await self._filed("mset", keys, ttls, pipe, _stored, required=True)

    def _deadline(self, ttl: float) -> float:
        """When an item written now with ``ttl`` expires at the latest (what ``_exptime`` sends, on our clock)."""
        return time.time() + math.ceil(ttl) + 1

    async def _filed(
        self,
        op: str,
        keys: list[str],
        ttls: list[float],
        data: Pipeline,
        written: Callable[[object], bool],
        *,
        required: bool = False,
    ) -> list[object]:
        """One pipeline: the data commands queued in ``data`` (one per key), then the index appends for ``keys``
        (deepest first) and the re-timing of index items the keys outlive; if any data command wrote, settle
        missing index items. Returns the data replies."""
        index = self._index
        plan = index.plan(keys, [self._deadline(ttl) for ttl in ttls])
        count = len(data)

        async def work(conn: Connection) -> list[object]:
            order = index.append(data, plan)
            due = index.raise_due(data, plan)
            replies = await data.run(conn)
            stored = replies[:count]
            if required and not all(written(reply) for reply in stored):
                raise ProtocolError(f"{op} answered {next(r for r in stored if not written(r))!r}")
            if any(written(reply) for reply in stored):  # else nothing was written (its entries are pruned later)
                index.settled(plan, due, replies[count + len(order) :])
                await index.settle(conn, plan, order, replies[count : count + len(order)])
                await index.compact_due(conn, plan)
            return stored

        return await self._run(op, work)

    async def _get(self, key: str) -> bytes | None:
        return await self._coalesced("get", self._gets, self._space.data(key))

    async def _get_alone(self, server_key: bytes) -> bytes | None:
        """A lone ``get`` on an idle store: one ``get`` line in the caller's task, under the caller's timeout."""
        pool = self._pool
        if pool is None:
            raise StoreNotStartedError(f"{self!r} was closed while a call waited")
        pipe = Pipeline()
        pipe.get((server_key,))
        async with lease(pool) as conn:
            [found] = await pipe.run(conn)
        assert isinstance(found, dict)
        return found.get(server_key)

    async def _send_gets(self, server_keys: list[bytes], *, bounded: bool = True) -> list[bytes | None]:
        """One pipeline for the ``get`` calls of one tick: a classic ``get`` line per 100 distinct keys."""
        distinct = list(dict.fromkeys(server_keys))

        async def work(conn: Connection) -> list[object]:
            pipe = Pipeline()
            for part in chunks(distinct):
                pipe.get(part)
            return await pipe.run(conn)

        found: dict[bytes, bytes] = {}
        for reply in await self._pipelined(work, bounded=bounded):
            assert isinstance(reply, dict)
            found.update(reply)
        return [found.get(key) for key in server_keys]

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
        exptime, index = self._exptime(ttl), self._index
        plan = index.plan(keys, self._deadline(ttl))

        async def work(conn: Connection) -> None:
            pipe = Pipeline()
            for key in keys:
                pipe.touch(self._space.data(key), exptime)
            due = index.raise_due(pipe, plan)  # the index items live as long as the keys now do
            replies = await pipe.run(conn)
            index.settled(plan, due, replies[len(keys) :])

        await self._run("expire", work)

    async def _touch(self, keys: list[str], ttl: float) -> list[str]:
        """``touch`` every key and read the epochs of their index items in one pipeline; repair changed ones."""
        exptime, index, deadline = self._exptime(ttl), self._index, self._deadline(ttl)
        plan = index.plan(keys, deadline)

        async def work(conn: Connection) -> list[str]:
            pipe = Pipeline()
            for key in keys:
                pipe.touch(self._space.data(key), exptime)
            order = index.check_epochs(pipe, plan)
            due = index.raise_due(pipe, plan)
            replies = await pipe.run(conn)
            missing = [key for key, reply in zip(keys, replies, strict=False) if reply != b"TOUCHED"]
            changed = index.changed(order, replies[len(keys) : len(keys) + len(order)])
            index.settled(plan, due, replies[len(keys) + len(order) :])
            if changed:
                live = [key for key, reply in zip(keys, replies, strict=False) if reply == b"TOUCHED"]
                live_plan = index.plan(live, deadline)
                repair = Pipeline()
                repaired = index.append(repair, live_plan, only=[k for k in live_plan if k in changed])
                await index.settle(conn, live_plan, repaired, await repair.run(conn))
            return missing

        return await self._run("touch", work)

    async def _keys(self, prefix: str) -> list[str]:
        found, examined = await self._run("keys", lambda conn: self._index.listing(conn, prefix))
        self.keys_examined += examined
        return found

    async def _delete(self, keys: list[str]) -> None:
        async def work(conn: Connection) -> None:
            pipe = Pipeline()
            for key in keys:
                pipe.delete(self._space.data(key))
            await pipe.run(conn)

        await self._run("delete", work)

    # -- versioned writes (memcached's cas uniques) ---------------------------------------------------

    async def _add(self, key: str, value: bytes, ttl: float) -> bool:
        return await self._meta_store("add", key, value, b"T%d ME" % self._exptime(ttl), ttl) is not None

    async def _get_versioned(self, key: str) -> Versioned | None:
        self._require_cas("get_versioned")
        server_key = self._space.data(key)

        async def work(conn: Connection) -> object:
            pipe = Pipeline()
            pipe.meta_get(server_key, b"v c")
            return (await pipe.run(conn))[0]

        reply = await self._run("get_versioned", work)
        if not isinstance(reply, Meta) or reply.value is None:
            return None  # EN: missing or expired
        return Versioned(reply.value, self._unique_of("get_versioned", reply))

    async def _cas(self, key: str, value: bytes, ttl: float, version: Version | None) -> Version | None:
        self._require_cas("cas")
        exptime = self._exptime(ttl)
        if version is None:
            condition = b"ME"  # add: only if absent or expired
        else:
            unique = _cas_unique(version)
            if unique is None:
                return None  # not a version this store hands out: it matches nothing
            condition = b"C%d" % unique
        reply = await self._meta_store("cas", key, value, b"T%d %s c" % (exptime, condition), ttl)
        if reply is None:
            return None
        return self._unique_of("cas", reply)

    async def _delete_if(self, key: str, version: Version) -> bool:
        self._require_cas("delete_if")
        unique = _cas_unique(version)
        if unique is None:
            return False
        server_key = self._space.data(key)

        async def work(conn: Connection) -> object:
            pipe = Pipeline()
            pipe.meta_delete(server_key, b"C%d" % unique)
            return (await pipe.run(conn))[0]

        return _written(await self._run("delete_if", work))  # HD; EX (changed) or NF (gone): False

    async def _meta_store(self, op: str, key: str, value: bytes, flags: bytes, ttl: float) -> Meta | None:
        """One ``ms`` with ``flags`` (and the index appends); its reply if it stored (``HD``), else None."""
        pipe = Pipeline()
        pipe.meta_set(self._space.data(key), value, flags)
        [reply] = await self._filed(op, [key], [ttl], pipe, _written)
        if not isinstance(reply, Meta) or not _written(reply):
            return None  # NS (add found a live item), EX (cas changed) or NF (gone or expired)
        return reply

    def _unique_of(self, op: str, reply: Meta) -> int:
        """The cas unique (``c`` flag) of a reply; a server that gives none (or 0) is not one this store can use."""
        unique = reply.int_flag(b"c")
        if not unique:
            raise StoreError(f"memcached {op} on {self.config.address} answered without a cas unique ({reply.code!r})")
        return unique

    def _require_cas(self, operation: str) -> None:
        if not self._cas_enabled:
            raise UnsupportedOperationError(
                f"{operation} needs memcached's cas uniques, but memcached at {self.config.address} runs with -C "
                "(cas disabled); restart it without -C"
            )

    # -- helpers -------------------------------------------------------------------------------------

    def _exptime(self, ttl: float) -> int:
        """memcached's exptime for ``ttl``: ``ceil(ttl) + 1`` (never early; see the module docstring), absolute
        beyond 30 days."""
        seconds = math.ceil(ttl) + 1
        if seconds <= RELATIVE_LIMIT:
            return seconds
        return math.ceil(time.time() + self._clock_offset) + seconds

    async def _coalesced(self, op: str, coalescer: Coalescer[R, T], request: R) -> T:
        """``request``'s outcome from ``coalescer`` within the timeout (queueing counts); failures become
        ``StoreError``."""
        if self._pool is None:
            raise StoreNotStartedError(f"{self!r} is not started: use `async with store:` or `await store.start()`")
        timeout = self.config.timeout
        try:
            async with asyncio.timeout(timeout):
                return await coalescer.submit(request)
        except TimeoutError as exc:
            raise StoreError(f"memcached {op} timed out after {timeout:g} s on {self.config.address}") from exc
        except SERVER_ERRORS as exc:
            raise StoreError(f"memcached {op} failed on {self.config.address}: {type(exc).__name__}: {exc}") from exc

    async def _pipelined(self, work: Callable[[Connection], Awaitable[T]], *, bounded: bool = True) -> T:
        """Run a coalesced batch's ``work`` on a pooled connection within the timeout (errors raised as they are:
        each caller's ``_coalesced`` words its own). Not ``bounded``: a lone call in its caller's task, which the
        caller's own timeout bounds already."""
        pool = self._pool
        if pool is None:
            raise StoreNotStartedError(f"{self!r} was closed while a call waited")
        if not bounded:
            async with lease(pool) as conn:
                return await work(conn)
        async with asyncio.timeout(self.config.timeout):
            async with lease(pool) as conn:
                return await work(conn)

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


def _stored(reply: object) -> bool:
    """A classic ``set``/``replace`` wrote."""
    return reply == b"STORED"


def _written(reply: object) -> bool:
    """A meta ``ms``/``md`` did what it was asked (``HD``)."""
    return isinstance(reply, Meta) and reply.code == b"HD"


def _cas_unique(version: object) -> int | None:
    """``version`` as a cas unique to send, or None if it cannot be one (a foreign token matches nothing)."""
    if type(version) is not int or not 0 < version <= MAX_CAS:
        return None
    return version


def _too_old(version: str) -> bool:
    """True for memcached before 1.6 (no meta commands); unknown version strings are given the benefit."""
    parts = version.split(".")
    try:
        return (int(parts[0]), int(parts[1])) < (1, 6)
    except (ValueError, IndexError):
        return False
