"""``EtcdStore``: sessionkv on etcd v3, TTLs as leases, batches as transactions, over the JSON gateway.

Keys are ``namespace + key`` in UTF-8. ``set``/``mset`` attach keys to a lease for their ttl
(shared and reused as ``leases`` explains); ``expire``/``touch`` grant one new lease and move the
live keys onto it with ``Put(ignore_value)`` guarded by ``create_revision > 0`` (one nested txn per
key), so missing keys are never created and ``touch`` reads the missing ones from the txn results.
``set(only_if_exists=True)`` is the same guard around a Put. Batches go in txns of at most 128
operations and ~1.25 MiB (etcd's defaults are 128 and 1.5 MiB), several in flight at once; so
``mset`` is atomic only up to one txn, and ``atomic_mset=False``. ``keys(prefix)`` is a keys-only
range ``[prefix, prefix+1)``, paged: etcd reads only that range of its sorted key index, so any
prefix (a directory too: ``directory_listing="indexed"``) costs its own keys, which ``keys_examined``
counts page by page (expired keys are already gone: their lease deleted them). Server failures
raise ``StoreError`` with the cause chained and the password hidden.

Concurrent ``get`` calls are coalesced (``sessionkv.coalesce``): a lone call on an idle store is one
``/kv/range``; the calls that arrive while it is out leave together as read-only txns of up to 128
ranges (each key once; etcd answers them like one range, linearizable, no raft proposal), at most
``GET_BATCHES`` at once. A cancelled or timed-out caller is left out of its batch or its reply
dropped; a failed txn fails the calls it carried, and only those.

Versions are etcd's own: a key's ``mod_revision`` (an int, new on every put, never reused after a
delete since revisions only grow). ``add``/``cas``/``delete_if`` are one txn each, comparing
``create_revision == 0`` (absent; an expired key's lease has deleted it) or ``mod_revision == version``;
they are never retried once sent (``gateway.EtcdOutcomeUnknownError``), so a write is never reported
as refused because its own retry saw it. Reads are linearizable (etcd's default), so
``linearizable=True`` and the generic ``Lease``'s cas-incremented fence is strict.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, ClassVar, NoReturn, TypeVar

from sessionkv import (
    ConfigurationError,
    Option,
    SessionKVStore,
    StoreCapabilities,
    StoreError,
    StoreNotStartedError,
    StoreURL,
    Version,
    Versioned,
    redact,
)
from sessionkv.coalesce import Coalescer

from . import wire
from .config import ALL_OPTIONS, EtcdConfig
from .gateway import TRANSPORT_ERRORS, EtcdRequestError, EtcdUnavailableError, Gateway
from .leases import LeasePool

T = TypeVar("T")
_YEAR = 365 * 86400
#: Transactions of one batch in flight at once.
CHUNK_CONCURRENCY = 4
#: Coalesced batches of ``get`` calls in flight at once (each a txn of up to 128 ranges).
GET_BATCHES = 4

CAPABILITIES = StoreCapabilities(
    # Lease TTLs are whole seconds, rounded up with room for reuse (< 1.25 s late), and etcd's lessor
    # checks expiry every 0.5 s: keys go at most ~1.75 s + a commit late. Measured: tests/backends/test_etcd.py.
    ttl_resolution=2.0,
    # etcd raises shorter leases to 1.5 x its election timeout, rounded up: 2 s with default raft timers.
    min_ttl=2.0,
    max_ttl=100 * _YEAR,  # etcd's own lease limit is 9e9 s (~285 years)
    max_value_size=1024 * 1024,  # a Put must fit etcd's default 1.5 MiB request limit
    max_key_size=16 * 1024,
    atomic_mset=False,
    # One raft log decides every compare; reads are linearizable (not serializable) by default.
    linearizable=True,
    fencing="strict",
    directory_listing="indexed",  # a prefix is one range of etcd's sorted key index
)
#: Errors from talking to etcd, turned into ``StoreError``.
SERVER_ERRORS = (EtcdRequestError, EtcdUnavailableError, *TRANSPORT_ERRORS)


class EtcdStore(SessionKVStore):
    """A store on an etcd v3 cluster (``etcd://h1:2379,h2:2379``, ``etcds://`` for TLS), built from a URL."""

    capabilities = CAPABILITIES
    options: ClassVar[dict[str, Option]] = ALL_OPTIONS
    #: keys the ranges of this store's listings returned (set in ``__init__``; see ``SessionKVStore.keys_examined``)
    keys_examined: int
    db_system_name = "etcd"  # OpenTelemetry db.system.name (sessionkv.telemetry)

    def __init__(self, url: str | StoreURL, /, *, namespace: str | None = None, **options: Any) -> None:
        if not isinstance(url, (str, StoreURL)):
            raise TypeError(f"EtcdStore takes an etcd:// or etcds:// URL, not {type(url).__name__}")
        parsed = url if isinstance(url, StoreURL) else StoreURL.parse(url)
        if namespace is not None:
            options["namespace"] = namespace
        self._config = EtcdConfig.from_url(parsed, options)
        self.namespace = self._config.namespace
        self._ns = self.namespace.encode()
        self._gateway: Gateway | None = None
        self.keys_examined = 0
        self._leases = LeasePool(lambda path, body: self._call("lease", path, body))
        # concurrent gets of one loop tick leave as one txn of ranges (sessionkv.coalesce); a lone one as a range
        self._gets: Coalescer[bytes, bytes | None] = Coalescer(
            self._send_gets, max_inflight=GET_BATCHES, send_one=self._get_alone
        )

    @classmethod
    def from_url(cls, url: StoreURL, **overrides: Any) -> EtcdStore:
        return cls(url, **overrides)

    @property
    def gateway(self) -> Gateway:
        """The gateway client in use; raises ``StoreNotStartedError`` before ``start()``/after ``close()``."""
        gateway = self._gateway
        if gateway is None:
            raise StoreNotStartedError(f"{self!r} is not started: use `async with store:` or `await store.start()`")
        return gateway

    @property
    def leases(self) -> LeasePool:
        """The leases this store granted (for tests and diagnostics)."""
        return self._leases

    # -- lifecycle -------------------------------------------------------------------------------

    async def _start(self) -> None:
        if self._gateway is not None:
            return
        try:
            ssl_context = await asyncio.to_thread(self._config.ssl_context)
        except ConfigurationError as exc:
            raise StoreError(f"etcd connect failed on {self._config.url}: {exc}") from exc
        gateway = Gateway(self._config)
        try:
            async with asyncio.timeout(self._config.timeout * 2):  # version probe, then login
                await gateway.open(ssl_context)
        except SERVER_ERRORS as exc:
            self._raise("connect", exc)
        self._gateway = gateway
        self._leases.start_sweeping()

    async def _close(self) -> None:
        await self._gets.drain()
        await self._leases.stop_sweeping()
        gateway, self._gateway = self._gateway, None
        if gateway is not None:
            await gateway.close()

    # -- operations ------------------------------------------------------------------------------

    async def _set(self, key: str, value: bytes, ttl: float, *, only_if_exists: bool) -> None:
        full = self._ns + key.encode()
        async with self._leases.lease(ttl) as lease:
            put = wire.put_request(full, value, lease)
            if only_if_exists:
                await self._call("set", "/kv/txn", wire.txn_body([{"request_put": put}], [wire.exists_compare(full)]))
            else:
                await self._call("set", "/kv/put", put)

    async def _mset(self, items: list[tuple[str, bytes, float]]) -> None:
        ns = self._ns
        async with contextlib.AsyncExitStack() as stack:
            lease_of: dict[float, int] = {}
            for ttl in sorted({ttl for _, _, ttl in items}):
                lease_of[ttl] = await stack.enter_async_context(self._leases.lease(ttl))
            puts = [wire.put_request(ns + key.encode(), value, lease_of[ttl]) for key, value, ttl in items]
            sizes = [len(key.encode()) + len(ns) + len(value) for key, value, _ in items]
            batches = list(wire.chunks(puts, size=sizes))
            await self._each(batches, lambda batch: self._txn("mset", [{"request_put": put} for put in batch]))

    async def _get(self, key: str) -> bytes | None:
        timeout = self._config.timeout
        try:
            async with asyncio.timeout(timeout):  # queueing for a batch counts
                return await self._gets.submit(self._ns + key.encode())
        except TimeoutError as exc:
            self._raise("get", exc)

    async def _get_alone(self, full: bytes) -> bytes | None:
        """A lone ``get`` on an idle store: one ``/kv/range``."""
        kvs = wire.kvs_of(await self._call("get", "/kv/range", wire.range_request(full)))
        return wire.unb64(kvs[0].get("value")) if kvs else None

    async def _send_gets(self, keys: list[bytes]) -> list[bytes | None]:
        """The ``get`` calls of one loop tick as read-only txns of ranges (up to 128 each; etcd serves them like
        one range, without a raft proposal), each key once; a failed txn fails the calls it carried."""
        distinct = list(dict.fromkeys(keys))

        async def read(batch: list[bytes]) -> list[bytes | None]:
            ops = [{"request_range": wire.range_request(key)} for key in batch]
            values: list[bytes | None] = []
            for response in await self._txn("get", ops):
                kvs = wire.kvs_of(response.get("response_range", {}))
                values.append(wire.unb64(kvs[0].get("value")) if kvs else None)
            return values

        batches = list(wire.chunks(distinct, size=[len(key) for key in distinct]))
        found: dict[bytes, bytes | None] = {}
        for batch, values in zip(batches, await self._each(batches, read), strict=True):
            found.update(zip(batch, values, strict=True))
        return [found[key] for key in keys]

    async def _mget(self, keys: list[str]) -> list[bytes | None]:
        ns = self._ns

        async def read(batch: list[str]) -> list[bytes | None]:
            ops = [{"request_range": wire.range_request(ns + key.encode())} for key in batch]
            values: list[bytes | None] = []
            for response in await self._txn("mget", ops):
                kvs = wire.kvs_of(response.get("response_range", {}))
                values.append(wire.unb64(kvs[0].get("value")) if kvs else None)
            return values

        results = await self._each(list(wire.chunks(keys)), read)
        return [value for batch in results for value in batch]

    async def _expire(self, keys: list[str], ttl: float) -> None:
        await self._move_to_new_lease("expire", keys, ttl)

    async def _touch(self, keys: list[str], ttl: float) -> list[str]:
        return await self._move_to_new_lease("touch", keys, ttl)

    async def _move_to_new_lease(self, op: str, keys: list[str], ttl: float) -> list[str]:
        """Move the live ``keys`` onto one new lease for ``ttl``; return the missing ones (never created)."""
        ns = self._ns
        async with self._leases.lease(ttl, fresh=True) as lease:

            async def move(batch: list[str]) -> list[str]:
                ops = []
                for key in batch:
                    full = ns + key.encode()
                    ops.append(wire.guarded_txn_op(full, {"request_put": wire.move_to_lease_request(full, lease)}))
                responses = await self._txn(op, ops)
                moved = [bool(r.get("response_txn", {}).get("succeeded")) for r in responses]
                return [key for key, ok in zip(batch, moved, strict=True) if not ok]

            results = await self._each(list(wire.chunks(keys, ops_each=2)), move)
        return [key for batch in results for key in batch]

    async def _keys(self, prefix: str) -> list[str]:
        ns = self._ns
        start = ns + prefix.encode()
        end = wire.prefix_range_end(start)
        start = start or b"\0"
        found: list[str] = []
        while True:
            body = wire.range_request(start, range_end=end, keys_only=True, limit=wire.PAGE_SIZE)
            reply = await self._call("keys", "/kv/range", body)
            raw_keys = [wire.unb64(kv.get("key")) for kv in wire.kvs_of(reply)]
            self.keys_examined += len(raw_keys)
            for raw in raw_keys:
                try:
                    found.append(raw[len(ns) :].decode())
                except UnicodeDecodeError:  # not written by sessionkv (keys are UTF-8): not ours to list
                    continue
            if not reply.get("more") or not raw_keys:
                return found
            start = raw_keys[-1] + b"\0"  # the next key after the last one seen

    async def _delete(self, keys: list[str]) -> None:
        ns = self._ns
        batches = list(wire.chunks(keys))
        await self._each(
            batches,
            lambda batch: self._txn(
                "delete", [{"request_delete_range": {"key": wire.b64(ns + key.encode())}} for key in batch]
            ),
        )

    # -- versioned writes (versions are mod_revisions) -------------------------------------------

    async def _add(self, key: str, value: bytes, ttl: float) -> bool:
        return await self._cas(key, value, ttl, None) is not None

    async def _get_versioned(self, key: str) -> Versioned | None:
        reply = await self._call("get_versioned", "/kv/range", wire.range_request(self._ns + key.encode()))
        kvs = wire.kvs_of(reply)
        if not kvs:
            return None
        return Versioned(wire.unb64(kvs[0].get("value")), int(kvs[0]["mod_revision"]))

    async def _cas(self, key: str, value: bytes, ttl: float, version: Version | None) -> Version | None:
        full = self._ns + key.encode()
        if version is None:
            compare = wire.absent_compare(full)
        else:
            revision = revision_of(version)
            if revision is None:  # not a version this store handed out: it matches nothing
                return None
            compare = wire.version_compare(full, revision)
        async with self._leases.lease(ttl) as lease:
            body = wire.txn_body([{"request_put": wire.put_request(full, value, lease)}], [compare])
            written, revision = wire.txn_outcome(await self._call("cas", "/kv/txn", body, idempotent=False))
        return revision if written else None  # a write txn's header revision is the put's mod_revision

    async def _delete_if(self, key: str, version: Version) -> bool:
        revision = revision_of(version)
        if revision is None:
            return False
        full = self._ns + key.encode()
        body = wire.txn_body(
            [{"request_delete_range": wire.delete_request(full)}], [wire.version_compare(full, revision)]
        )
        written, _ = wire.txn_outcome(await self._call("delete_if", "/kv/txn", body, idempotent=False))
        return written

    # -- plumbing --------------------------------------------------------------------------------

    async def _txn(self, op: str, ops: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Run ``ops`` (RequestOps) in one unconditional txn; return their responses in order."""
        reply = await self._call(op, "/kv/txn", wire.txn_body(ops))
        responses: list[dict[str, Any]] = reply.get("responses", [])
        if len(responses) != len(ops):
            raise StoreError(f"etcd {op} failed on {self._where()}: {len(responses)} replies to {len(ops)} operations")
        return responses

    async def _each(self, batches: Sequence[T], run: Callable[[T], Awaitable[Any]]) -> list[Any]:
        """``run`` every batch, ``CHUNK_CONCURRENCY`` at a time; results in order; the first error wins."""
        if len(batches) == 1:
            return [await run(batches[0])]
        limit = asyncio.Semaphore(CHUNK_CONCURRENCY)

        async def limited(batch: T) -> Any:
            async with limit:
                return await run(batch)

        tasks = [asyncio.ensure_future(limited(batch)) for batch in batches]
        try:
            return list(await asyncio.gather(*tasks))
        except BaseException:  # the first error (a StoreError, cause kept) wins; stop the other batches
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise

    async def _call(self, op: str, path: str, body: dict[str, Any], *, idempotent: bool = True) -> dict[str, Any]:
        """One request (failover included, unless not ``idempotent`` and maybe sent) bounded by the ``timeout``
        option; failures become ``StoreError``."""
        gateway = self.gateway
        try:
            async with asyncio.timeout(self._config.timeout):
                return await gateway.call(path, body, idempotent=idempotent)
        except SERVER_ERRORS as exc:
            self._raise(op, exc)

    def _where(self) -> str:
        return str(self._config.url)

    def _raise(self, op: str, exc: BaseException) -> NoReturn:
        """Raise ``StoreError`` for a failed ``op``, cause chained, password removed from the message."""
        if isinstance(exc, TimeoutError):
            detail = f"no reply within {self._config.timeout:g} s (timeout option)"
        else:
            detail = f"{type(exc).__name__}: {exc}"
        message = redact(detail)
        if self._config.password:
            message = message.replace(self._config.password, "***")
        raise StoreError(f"etcd {op} failed on {self._where()}: {message}") from exc

    def __repr__(self) -> str:
        return f"<EtcdStore {self._where()} namespace={self.namespace!r}>"


def revision_of(version: Version) -> int | None:
    """The mod_revision a version token stands for, or ``None`` if it is not one (no key has such a version)."""
    if isinstance(version, int) and not isinstance(version, bool) and version > 0:
        return version
    return None
