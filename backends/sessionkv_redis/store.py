"""``RedisStore``: sessionkv on Redis or Redis Cluster through redis-py's asyncio client.

Keys are ``namespace + key`` (UTF-8), values bytes, TTLs whole milliseconds rounded UP (``PX``,
``PEXPIRE``; never 0). Batches are one round trip: ``MGET`` (per slot in a cluster), and
pipelines of ``SET``/``PEXPIRE``. ``mset`` is a MULTI/EXEC transaction on a single node, still one
round trip and no slower (`python -m bench --only redis`): other clients never see it half-applied, and a
refusal while queueing (e.g. out of memory) aborts every item; so ``atomic_mset=True``. In a cluster
it is a plain pipeline split by node: not atomic. ``capabilities.max_value_size`` is the server's
``proto-max-bulk-len`` (read at start; 512 MiB if CONFIG is not allowed). Server failures raise
``StoreError`` with the cause chained and the password hidden.

Listing (index.py): one server keeps a sorted-set index of every directory (``directory_listing
="indexed"``); a cluster indexes the directories that contain a complete hash tag (``"hash_tagged"``:
the registry's ``s/{<call>}/``), writing each slot's keys and index entries in one script, every
slot group of a batch in one pipeline (tagged.py); any other listing SCANs (every primary of a
cluster). ``directory_index=false``, or a server that refuses Lua, means SCAN only (``"scan"``).
``keys_examined`` counts index members read (pruned ones included) or, per SCAN call, its COUNT.

Concurrency (pipelining.py): concurrent single-key commands (get, the index scripts, mget) share
pipelines, one queue per server or per cluster node, a lone call sent at once; on one server a
tick's sets share one index script (``_send_sets``). Outcomes stay per call.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
from collections.abc import Callable
from typing import Any, ClassVar, NoReturn, cast

from redis.asyncio import Redis, RedisCluster
from redis.asyncio.cluster import ClusterPipeline
from redis.crc import key_slot
from redis.exceptions import NoScriptError, ResponseError

from sessionkv import (
    NAMESPACE_OPTION,
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
from sessionkv.coalesce import Coalescer, Failed

from . import tagged
from .config import ALL_OPTIONS, RedisConfig
from .index import HASH, INDEX_PREFIX, PAGE, SCRIPTS, SORTED_SET, directory, hash_tag_end, set_args
from .pipelining import DEFAULT_INFLIGHT, Pipelining
from .scan import decoded, scan_matching
from .server import SERVER_ERRORS, bulk_limit, client_password, quiet_close, scripting_refused
from .versions import HEADER_SIZE, Stamper, split, strip

#: Index key (after the index prefix) that ``start`` lists to check scripting: no directory ends with NUL.
PROBE_KEY = "probe\x00"
_YEAR = 365 * 86400
#: A coalesced ``set`` on one server: key, stamped value, px, only_if_exists.
SetItem = tuple[str, bytes, int, bool]

#: One server: MULTI/EXEC makes mset atomic (see the module docstring).
SINGLE_NODE_CAPABILITIES = StoreCapabilities(
    ttl_resolution=0.001,  # PX/PEXPIRE are milliseconds; expiry is checked on every access
    min_ttl=0.001,
    max_ttl=100 * _YEAR,  # PX is an int64 of ms; 100 years stays far from overflow
    max_value_size=512 * 1024 * 1024 - HEADER_SIZE,  # proto-max-bulk-len default; start() reads the server's
    max_key_size=None,  # Redis keys may be up to 512 MiB
    atomic_mset=True,
    linearizable=False,  # replicas are asynchronous: a failover can lose an acknowledged cas
    fencing="best_effort",
    directory_listing="indexed",  # with directory_index on (the default) and scripting allowed
)
#: A cluster: keys live on different nodes, so mset is one pipeline per node and not atomic; only
#: hash-tagged directories can keep their index in their keys' slot.
CLUSTER_CAPABILITIES = dataclasses.replace(SINGLE_NODE_CAPABILITIES, atomic_mset=False, directory_listing="hash_tagged")


#: Keys per Lua call in ``touch``: large enough for one round trip per heartbeat of 10,000 sessions,
#: small enough to block the server only a few milliseconds.
TOUCH_CHUNK = 10_000
_TOUCH_LUA = """
local missing = {}
for i, key in ipairs(KEYS) do
  if redis.call('PEXPIRE', key, ARGV[1]) == 0 then missing[#missing + 1] = i end
end
return missing
"""


def ttl_ms(ttl: float) -> int:
    """Seconds to whole milliseconds, rounded UP and at least 1 (``PX 0`` is an error, ``PEXPIRE 0`` deletes)."""
    return max(1, math.ceil(ttl * 1000))


class RedisStore(SessionKVStore):
    """A store on one Redis server (``redis://``, ``rediss://``, ``unix://``) or a cluster (``redis+cluster://``).

    Build it from a URL (the store owns the client and closes it) or from an existing
    ``redis.asyncio.Redis``/``RedisCluster`` (the caller keeps ownership: ``close()`` leaves it open).
    """

    capabilities = SINGLE_NODE_CAPABILITIES
    options: ClassVar[dict[str, Option]] = ALL_OPTIONS
    keys_examined: int = 0
    db_system_name = "redis"  # OpenTelemetry db.system.name (sessionkv.telemetry)

    def __init__(
        self, client: str | StoreURL | Redis | RedisCluster, /, *, namespace: str | None = None, **options: Any
    ) -> None:
        self._config: RedisConfig | None = None
        self._borrowed: Redis | RedisCluster | None = None
        if isinstance(client, (str, StoreURL)):
            url = client if isinstance(client, StoreURL) else StoreURL.parse(client)
            if namespace is not None:
                options["namespace"] = namespace
            self._config = RedisConfig.from_url(url, options)
            self.namespace = self._config.namespace
            self._cluster = self._config.cluster
            self._indexed = self._config.directory_index
        elif isinstance(client, (Redis, RedisCluster)):
            if options:
                raise ConfigurationError(
                    f"options {', '.join(sorted(options))} apply to URLs only; configure the client you pass instead"
                )
            if client.get_encoder().decode_responses:
                raise ConfigurationError("the redis client must use decode_responses=False: values are bytes")
            self._borrowed = client
            self.namespace = NAMESPACE_OPTION.check("namespace", namespace or NAMESPACE_OPTION.default)
            self._cluster = isinstance(client, RedisCluster)
            self._indexed = True
        else:
            raise TypeError(f"RedisStore takes a URL or a redis.asyncio client, not {type(client).__name__}")
        self.capabilities = CLUSTER_CAPABILITIES if self._cluster else SINGLE_NODE_CAPABILITIES
        if not self._indexed:
            self.capabilities = dataclasses.replace(self.capabilities, directory_listing="scan")
        self.keys_examined = 0
        self._scripts_allowed = True
        self._index_prefix = INDEX_PREFIX + self.namespace
        self.index_type = self._config.index_type if self._config is not None else SORTED_SET
        self._lua = SCRIPTS[self.index_type]
        self._tagged_lua = tagged.SCRIPTS[self.index_type]
        self._stamper = Stamper()
        self._scripts: dict[str, Any] = {}
        self._client: Redis | RedisCluster | None = None
        self._pipelining: Pipelining | None = None
        # one server: the concurrent sets of one tick share one index script (``_send_sets``)
        self._sets: Coalescer[SetItem, bool] = Coalescer(
            self._send_sets, max_inflight=self._inflight(), send_one=self._set_alone
        )

    @classmethod
    def from_url(cls, url: StoreURL, **overrides: Any) -> RedisStore:
        return cls(url, **overrides)

    @property
    def owns_client(self) -> bool:
        """True when the store built its client from a URL (and so closes it)."""
        return self._config is not None

    @property
    def client(self) -> Redis | RedisCluster:
        """The redis-py client in use; raises ``StoreNotStartedError`` before ``start()``/after ``close()``."""
        client = self._client
        if client is None:
            raise StoreNotStartedError(f"{self!r} is not started: use `async with store:` or `await store.start()`")
        return client

    async def _start(self) -> None:
        if self._client is not None:
            return
        client = self._config.build_client() if self._config is not None else self._borrowed
        assert client is not None
        try:
            if isinstance(client, RedisCluster):
                await client.initialize()
            else:
                await client.ping()
        except SERVER_ERRORS as exc:
            if self.owns_client:
                await quiet_close(client)
            self._raise("connect", exc)
        limit = await bulk_limit(client)
        if limit is not None:  # every value carries the version header
            self.capabilities = dataclasses.replace(self.capabilities, max_value_size=limit - HEADER_SIZE)
        self._client = client
        self._pipelining = Pipelining(client, max_inflight=self._inflight())
        if self._indexed:
            await self._probe_scripting()

    def _inflight(self) -> int:
        """Pipelines out at once per server or node: ``DEFAULT_INFLIGHT``, fewer in a smaller pool (pipelining.py)."""
        limit = self._config.max_connections if self._config is not None else None
        return DEFAULT_INFLIGHT if limit is None else min(limit, DEFAULT_INFLIGHT)

    @property
    def pipelining(self) -> Pipelining:
        """The coalescing of concurrent commands (its ``batches``/``requests`` count round trips)."""
        pipelining = self._pipelining
        if pipelining is None:
            raise StoreNotStartedError(f"{self!r} is not started: use `async with store:` or `await store.start()`")
        return pipelining

    async def _call(self, routing_key: str, *args: Any) -> Any:
        """One command, coalesced with its concurrent neighbours (pipelining.py); errors raised as they are."""
        return await self.pipelining.call(routing_key, *args)

    async def _probe_scripting(self) -> None:
        """Load the listing script by running it once (on a key no directory uses), so a server that refuses
        Lua turns the index off, and ``capabilities.directory_listing`` to ``"scan"``, before the first call.
        ``index_type=hash`` first checks that the server expires hash fields (``StoreError`` if not)."""
        try:
            if self.index_type == HASH:
                await self._check_field_expiry()
            await self._script("start", self._lua.list, [self._index_prefix + PROBE_KEY], [0, 1])
            await self._check_index_type()
        except BaseException:
            client, self._client = self._client, None
            if client is not None and self.owns_client:
                await quiet_close(client)
            raise

    async def _check_index_type(self) -> None:
        """``StoreError`` if the namespace's root index is kept as the other index type: stores sharing a
        namespace must agree, and one that did not would fail its writes (WRONGTYPE) or miss keys."""
        root = self._index_prefix
        try:
            found = await self._call(root, "TYPE", root)
        except SERVER_ERRORS as exc:
            self._raise("start", exc)
        kind = found.decode() if isinstance(found, bytes) else str(found)
        expected = "hash" if self.index_type == HASH else "zset"
        if kind in ("hash", "zset") and kind != expected:
            other = HASH if kind == "hash" else SORTED_SET
            raise StoreError(
                f"namespace {self.namespace!r} on {self._where()} is indexed with index_type={other} by other "
                f"stores; this one was opened with index_type={self.index_type}: every store of a namespace "
                "must use the same"
            )

    async def _check_field_expiry(self) -> None:
        """``StoreError`` unless the server has ``HPEXPIRE`` (hash field expiry: Redis 7.4+, Valkey 9+): it is
        sent on the probe key, which holds nothing, so it changes nothing."""
        probe = self._index_prefix + PROBE_KEY
        try:
            await self._call(probe, "HPEXPIRE", probe, 1, "FIELDS", 1, "probe")
        except ResponseError as exc:
            if "unknown command" not in str(exc).lower():
                self._raise("start", exc)
            raise StoreError(
                f"index_type=hash needs hash field expiry (Redis 7.4+ or Valkey 9+), which the server at "
                f"{self._where()} lacks: use index_type=sorted_set"
            ) from None
        except SERVER_ERRORS as exc:
            self._raise("start", exc)

    async def _close(self) -> None:
        await self._sets.drain()
        pipelining, self._pipelining = self._pipelining, None
        if pipelining is not None:
            await pipelining.drain()
            await pipelining.release()
        client, self._client = self._client, None
        self._scripts = {}  # scripts are bound to the client
        if client is not None and self.owns_client:
            await quiet_close(client)

    async def _set(self, key: str, value: bytes, ttl: float, *, only_if_exists: bool) -> None:
        value = self._stamper.stamp(value)
        if self._indexed:
            ns = self.namespace
            if not self._cluster:
                if await self._sets.submit((key, value, ttl_ms(ttl), only_if_exists)):
                    return
            else:
                index_keys = tagged.index_keys(self._index_prefix, ns, key)
                if index_keys:
                    args = ["1" if only_if_exists else "0", value, ttl_ms(ttl), key, len(index_keys)]
                    if await self._script("set", self._tagged_lua.set_one, [ns + key, *index_keys], args) is not None:
                        return
        full = self.namespace + key
        try:
            await self._call(full, "SET", full, value, "PX", ttl_ms(ttl), *(["XX"] if only_if_exists else []))
        except SERVER_ERRORS as exc:
            self._raise("set", exc)

    async def _send_sets(self, items: list[SetItem]) -> list[bool | Failed]:
        """The ``set`` calls of one tick on one server: one index script for all of them (one per ``xx`` flag).

        The script settles each index set it touched once per batch, not once per key. True: written by the
        script; False: scripting is refused (the caller sends a plain SET). If the batch's script fails (a
        key's directory index holds another type, say), each item runs again in a script of its own, so the
        error is only its own caller's (a script stops at its error: the items before it are written twice).
        """
        outcomes: list[bool | Failed] = [False] * len(items)
        groups = [[i for i, item in enumerate(items) if item[3] == flag] for flag in (False, True)]

        async def script(positions: list[int]) -> None:
            batch = [items[i] for i in positions]
            try:
                args = set_args(self._index_prefix, batch[0][3], [(key, value, px) for key, value, px, _ in batch])
                source = self._lua.set_one if len(batch) == 1 else self._lua.set
                done = await self._script("set", source, [self.namespace + key for key, _, _, _ in batch], args)
            except StoreError as exc:
                if len(positions) == 1:
                    outcomes[positions[0]] = Failed(exc)
                    return
                await asyncio.gather(*(script([i]) for i in positions))
                return
            for i in positions:
                outcomes[i] = done is not None

        groups = [group for group in groups if group]
        if len(groups) == 1:
            await script(groups[0])  # the common case (and a lone call): no task for it
        else:
            await asyncio.gather(*map(script, groups))
        return outcomes

    async def _set_alone(self, item: SetItem) -> bool | Failed:
        """A lone ``set`` (its coalescer was idle): the one-key script, sent at once."""
        key, value, px, only_if_exists = item
        args = set_args(self._index_prefix, only_if_exists, [(key, value, px)])
        try:
            done = await self._script("set", self._lua.set_one, [self.namespace + key], args)
        except StoreError as exc:
            return Failed(exc)
        return done is not None

    async def _mset(self, items: list[tuple[str, bytes, float]]) -> None:
        ns, stamp = self.namespace, self._stamper.stamp
        items = [(key, stamp(value), ttl) for key, value, ttl in items]
        if self._indexed:
            if not self._cluster:  # one script: atomic like MULTI/EXEC, and the index moves with the keys
                args = set_args(self._index_prefix, False, [(key, value, ttl_ms(ttl)) for key, value, ttl in items])
                if await self._script("mset", self._lua.set, [ns + key for key, _, _ in items], args) is not None:
                    return
            elif await self._tagged_mset(items):
                return
        try:
            async with self.client.pipeline(transaction=not self._cluster) as pipe:
                for key, value, ttl in items:
                    pipe.set(ns + key, value, px=ttl_ms(ttl))
                await pipe.execute()
        except SERVER_ERRORS as exc:
            self._raise("mset", exc)

    async def _tagged_mset(self, items: list[tuple[str, bytes, float]]) -> bool:
        """Cluster: plain SETs and one script per slot group in one pipeline; False if nothing is tagged/refused."""
        ns, keys = self.namespace, [key for key, _, _ in items]
        plan = self._plan(keys)
        if not plan.groups:
            return False
        calls = plan.calls(ns, keys, ["0"], lambda i: [items[i][1], ttl_ms(items[i][2]), keys[i]])

        def queue(pipe: ClusterPipeline) -> None:
            for i in plan.plain:
                key, value, ttl = items[i]
                pipe.set(ns + key, value, px=ttl_ms(ttl))

        return await self._cluster_batch("mset", queue, self._tagged_lua.set, calls) is not None

    async def _get(self, key: str) -> bytes | None:
        full = self.namespace + key
        try:
            value = cast("bytes | None", await self._call(full, "GET", full))  # decode_responses=False
        except SERVER_ERRORS as exc:
            self._raise("get", exc)
        return None if value is None else strip(value)

    async def _mget(self, keys: list[str]) -> list[bytes | None]:
        ns = self.namespace
        full = [ns + key for key in keys]
        if not full:
            return []
        try:
            if self._cluster:
                values = await self._cluster_mget(full)
            else:
                values = await self._call(full[0], "MGET", *full)
        except SERVER_ERRORS as exc:
            self._raise("mget", exc)
        return [None if value is None else strip(value) for value in values]

    async def _cluster_mget(self, full: list[str]) -> list[Any]:
        """One MGET per slot, a node's MGETs in one request coalesced with its other calls (a round trip per node)."""
        pipelining = self.pipelining
        by_slot: dict[int, list[int]] = {}
        for i, key in enumerate(full):
            by_slot.setdefault(key_slot(key.encode()), []).append(i)
        by_node: dict[str, list[list[int]]] = {}
        for group in by_slot.values():
            by_node.setdefault(pipelining.node_of(full[group[0]]), []).append(group)
        nodes = list(by_node.values())

        async def node_mget(groups: list[list[int]]) -> list[Any]:
            commands = tuple(("MGET", *[full[i] for i in group]) for group in groups)
            return await pipelining.call_many(full[groups[0][0]], commands)

        values: list[Any] = [None] * len(full)
        answers = [await node_mget(nodes[0])] if len(nodes) == 1 else await asyncio.gather(*map(node_mget, nodes))
        for groups, replies in zip(nodes, answers, strict=True):
            for group, reply in zip(groups, replies, strict=True):
                for i, value in zip(group, reply, strict=True):
                    values[i] = value
        return values

    async def _expire(self, keys: list[str], ttl: float) -> None:
        await self._touch(keys, ttl)

    async def _touch(self, keys: list[str], ttl: float) -> list[str]:
        if self._cluster:
            if self._indexed:
                missing = await self._tagged_touch(keys, ttl)
                if missing is not None:
                    return missing
        elif self._scripts_allowed:
            missing = await self._touch_script(keys, ttl)
            if missing is not None:
                return missing
        replies = await self._pexpire("touch", keys, ttl)
        return [key for key, refreshed in zip(keys, replies, strict=True) if not refreshed]

    async def _touch_script(self, keys: list[str], ttl: float) -> list[str] | None:
        """Single node: one Lua call per ``TOUCH_CHUNK`` keys; the reply lists only the missing positions.

        A pipeline would read one reply per key, which dominates a heartbeat of thousands of
        sessions (`python -m bench --only registry`); the script answers with the few missing ones. With the
        directory index the same script moves the keys' index entries. ``None``: scripting is refused.
        """
        ns, ms = self.namespace, ttl_ms(ttl)
        missing: list[str] = []
        for start in range(0, len(keys), TOUCH_CHUNK):
            chunk = keys[start : start + TOUCH_CHUNK]
            if self._indexed:
                args: list[Any] = [self._index_prefix, ms, *chunk]
                source = self._lua.expire_one if len(chunk) == 1 else self._lua.expire
                positions = await self._script("touch", source, [ns + key for key in chunk], args)
            else:
                positions = await self._script("touch", _TOUCH_LUA, [ns + key for key in chunk], [ms])
            if positions is None:
                return None
            missing.extend(chunk[int(i) - 1] for i in positions)
        return missing

    async def _tagged_touch(self, keys: list[str], ttl: float) -> list[str] | None:
        """Cluster: PEXPIRE the plain keys, one script per slot group of tagged ones, all in one pipeline.

        ``None``: no key is tagged (or scripting is refused): the caller pipelines PEXPIREs instead.
        """
        ns, ms = self.namespace, ttl_ms(ttl)
        plan = self._plan(keys)
        if not plan.groups:
            return None
        calls = plan.calls(ns, keys, [ms], lambda i: [keys[i]])

        def queue(pipe: ClusterPipeline) -> None:
            for i in plan.plain:
                pipe.pexpire(ns + keys[i], ms)

        replies = await self._cluster_batch("touch", queue, self._tagged_lua.expire, calls)
        if replies is None:
            return None
        plain, scripted = replies
        missing = {plan.plain[j] for j, refreshed in enumerate(plain) if not refreshed}
        for call, positions in zip(calls, scripted, strict=True):
            missing.update(call.positions[int(p) - 1] for p in positions)
        return [keys[i] for i in sorted(missing)]

    def _plan(self, keys: list[str]) -> tagged.Plan:
        return tagged.plan(self.namespace, self._index_prefix, keys, TOUCH_CHUNK)

    async def _cluster_batch(
        self, op: str, queue: Callable[[ClusterPipeline], None], source: str, calls: list[tagged.Call]
    ) -> tuple[list[Any], list[Any]] | None:
        """One cluster pipeline: the plain commands ``queue`` adds, then one EVALSHA of ``source`` per call.

        redis-py refuses ``pipeline().evalsha`` on a cluster (a script could span slots); each call here
        declares keys of one slot, so it goes in as a raw EVALSHA routed by its keys: one round trip per
        node however many slot groups, and no connection per group. A NOSCRIPT reply loads the script
        on every primary and resends only those calls. Returns the plain replies and the script replies;
        ``None`` when the server refuses scripting (the index is then off).
        """
        client = self.client
        assert isinstance(client, RedisCluster)
        sha = self._registered(source).sha
        try:
            pipe = client.pipeline()
            queue(pipe)
            plain_count = len(pipe)
            for call in calls:
                pipe.execute_command("EVALSHA", sha, len(call.keys), *call.keys, *call.args)
            replies = await pipe.execute(raise_on_error=False)
            plain, scripted = replies[:plain_count], replies[plain_count:]
            unloaded = [j for j, reply in enumerate(scripted) if isinstance(reply, NoScriptError)]
            if unloaded:
                await client.script_load(source)
                pipe = client.pipeline()
                for j in unloaded:
                    call = calls[j]
                    pipe.execute_command("EVALSHA", sha, len(call.keys), *call.keys, *call.args)
                for j, reply in zip(unloaded, await pipe.execute(raise_on_error=False), strict=True):
                    scripted[j] = reply
        except SERVER_ERRORS as exc:
            self._raise(op, exc)
        if any(isinstance(reply, ResponseError) and scripting_refused(reply) for reply in scripted):
            self._refuse_scripts()
            return None
        for reply in (*plain, *scripted):
            if isinstance(reply, Exception):
                self._raise(op, reply)
        return plain, scripted

    def _registered(self, source: str) -> Any:
        """The client's script object for ``source`` (registered once per client, and with the pipelining)."""
        script = self._scripts.get(source)
        if script is None:
            script = self._scripts[source] = self.client.register_script(source)
            self.pipelining.scripts[script.sha] = source
        return script

    def _refuse_scripts(self) -> None:
        """The server refuses Lua: plain commands from now on, no index, and capabilities that say so."""
        self._scripts_allowed = False
        self._indexed = False
        self.capabilities = dataclasses.replace(self.capabilities, directory_listing="scan")

    async def _script(self, op: str, source: str, keys: list[str], args: list[Any]) -> Any:
        """Run a Lua script (EVALSHA, loaded on first use); ``None`` when the server refuses scripting.

        Some managed services disable EVAL: then the store stops indexing and uses plain commands.
        """
        if not self._scripts_allowed:
            return None
        sha = self._registered(source).sha
        try:
            return await self._call(keys[0], "EVALSHA", sha, len(keys), *keys, *args)
        except ResponseError as exc:
            if not scripting_refused(exc):
                self._raise(op, exc)
            self._refuse_scripts()
            return None
        except SERVER_ERRORS as exc:
            self._raise(op, exc)

    async def _pexpire(self, op: str, keys: tuple[str, ...] | list[str], ttl: float) -> list[Any]:
        """One pipelined round trip of PEXPIRE (never creates a key); replies are 1/True if it existed."""
        ns, ms = self.namespace, ttl_ms(ttl)
        try:
            async with self.client.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.pexpire(ns + key, ms)
                replies: list[Any] = await pipe.execute()
        except SERVER_ERRORS as exc:
            self._raise(op, exc)
        return replies

    def _indexed_folder(self, prefix: str) -> str | None:
        """``prefix``'s directory when its index answers a listing (a cluster indexes hash-tagged ones only)."""
        if not self._indexed:
            return None
        folder = directory(prefix)
        if self._cluster and hash_tag_end(self.namespace + folder) is None:
            return None
        return folder

    async def _keys(self, prefix: str) -> list[str]:
        folder = self._indexed_folder(prefix)
        if folder is not None:
            found = await self._indexed_keys(prefix, folder)
            if found is not None:
                return found
        return await self._scan_keys(prefix)

    async def _indexed_keys(self, prefix: str, folder: str) -> list[str] | None:
        """Page through the index of ``folder`` (``prefix``'s directory); ``None`` when scripting is refused."""
        index_key = self._index_prefix + folder
        wanted = prefix.encode()
        members: list[bytes] = []
        start: int | bytes = 0
        while True:
            reply = await self._script("keys", self._lua.list, [index_key], [start, PAGE])
            if reply is None:
                return None
            page = reply[1:]
            members.extend(member for member in page if member.startswith(wanted))
            following = self._next_page(reply[0], len(page), start)
            if following is None:
                return decoded(dict.fromkeys(members) if self.index_type == HASH else members)
            start = following

    def _next_page(self, head: Any, count: int, start: int | bytes) -> int | bytes | None:
        """Where the next page of a listing starts (``None``: this was the last), counting ``keys_examined``.

        A sorted set pages by offset and its ``head`` says how many expired members were pruned; a hash pages
        by HSCAN cursor, which ``head`` is (``0`` at the end)."""
        if self.index_type == HASH:
            self.keys_examined += count
            return None if int(head) == 0 else bytes(head)
        self.keys_examined += int(head) + count
        assert isinstance(start, int)
        return None if count < PAGE else start + PAGE

    async def _items(self, prefix: str) -> list[tuple[str, bytes]]:
        """One script reads the directory's index and its live values (``ITEMS_LUA``), where ``keys`` would use
        the index; ``keys`` then ``mget`` otherwise (a SCAN, or a cluster directory without a hash tag)."""
        folder = self._indexed_folder(prefix)
        if folder is not None:
            found = await self._indexed_items(prefix, folder)
            if found is not None:
                return found
        return await super()._items(prefix)

    async def _indexed_items(self, prefix: str, folder: str) -> list[tuple[str, bytes]] | None:
        """Page through ``folder``'s index with the values; ``None`` when scripting is refused."""
        index_key = self._index_prefix + folder
        found: dict[str, bytes] = {}
        start: int | bytes = 0
        while True:
            reply = await self._script("items", self._lua.items, [index_key], [start, PAGE, self.namespace, prefix])
            if reply is None:
                return None
            for i in range(2, len(reply), 2):
                try:
                    found[reply[i].decode()] = strip(reply[i + 1])
                except UnicodeDecodeError:  # not written by sessionkv (see scan.decoded)
                    continue
            following = self._next_page(reply[0], int(reply[1]), start)
            if following is None:
                return list(found.items())
            start = following

    async def _scan_keys(self, prefix: str) -> list[str]:
        """SCAN for ``prefix`` (scan.py); ``keys_examined`` grows by the COUNT hint per SCAN call."""
        try:
            found, examined = await scan_matching(self.client, self.namespace + prefix)
        except SERVER_ERRORS as exc:
            self._raise("keys", exc)
        self.keys_examined += examined
        cut = len(self.namespace.encode())
        return decoded(raw[cut:] for raw in found)

    async def _delete(self, keys: list[str]) -> None:
        ns = self.namespace
        if self._cluster:
            if self._indexed and await self._tagged_delete(keys):
                return
        elif self._indexed:
            for start in range(0, len(keys), TOUCH_CHUNK):
                chunk = keys[start : start + TOUCH_CHUNK]
                done = await self._script(
                    "delete", self._lua.delete, [ns + key for key in chunk], [self._index_prefix, *chunk]
                )
                if done is None:
                    break
            else:
                return
        try:
            await self.client.delete(*[ns + key for key in keys])
        except SERVER_ERRORS as exc:
            self._raise("delete", exc)

    async def _tagged_delete(self, keys: list[str]) -> bool:
        """Cluster: DEL the plain keys, one script per slot group of tagged ones; False if nothing is tagged."""
        ns = self.namespace
        plan = self._plan(keys)
        if not plan.groups:
            return False
        calls = plan.calls(ns, keys, [], lambda i: [keys[i]])

        def queue(pipe: ClusterPipeline) -> None:
            if plan.plain:
                pipe.delete(*[ns + keys[i] for i in plan.plain])  # one DEL per slot

        return await self._cluster_batch("delete", queue, self._tagged_lua.delete, calls) is not None

    # -- versioned writes: the header token is the version (sessionkv_redis.versions) --------------

    async def _get_versioned(self, key: str) -> Versioned | None:
        full = self.namespace + key
        try:
            raw = cast("bytes | None", await self._call(full, "GET", full))
        except SERVER_ERRORS as exc:
            self._raise("get_versioned", exc)
        if raw is None:
            return None
        version, value = split(raw)
        return Versioned(value, version)

    async def _cas(self, key: str, value: bytes, ttl: float, version: Version | None) -> Version | None:
        if version is not None and not isinstance(version, bytes):
            return None  # not a version this backend handed out: it cannot match
        stamped = self._stamper.stamp(value)
        source, keys, indexed = self._one_key(key, self._lua.cas, self._tagged_lua.cas)
        args = [version or b"", stamped, ttl_ms(ttl), self._index_prefix, key, indexed]
        written = await self._script("cas", source, keys, args)
        if written is None:
            raise self._unsupported("cas (the server refuses Lua scripts)")
        return split(stamped)[0] if written else None

    async def _add(self, key: str, value: bytes, ttl: float) -> bool:
        return await self._cas(key, value, ttl, None) is not None

    async def _delete_if(self, key: str, version: Version) -> bool:
        if not isinstance(version, bytes):
            return False
        source, keys, indexed = self._one_key(key, self._lua.delete_if, self._tagged_lua.delete_if)
        deleted = await self._script("delete_if", source, keys, [version, self._index_prefix, key, indexed])
        if deleted is None:
            raise self._unsupported("delete_if (the server refuses Lua scripts)")
        return bool(deleted)

    def _one_key(self, key: str, single_node: str, cluster: str) -> tuple[str, list[str], str]:
        """A one-key versioned script for ``key``: its source, KEYS (a cluster's tagged index keys after the
        key) and whether it indexes ("1"/"0")."""
        full = self.namespace + key
        if not self._cluster:
            return single_node, [full], "1" if self._indexed else "0"
        index_keys = tagged.index_keys(self._index_prefix, self.namespace, key) if self._indexed else []
        return cluster, [full, *index_keys], "1" if index_keys else "0"

    def _where(self) -> str:
        if self._config is not None:
            return str(self._config.url)
        return f"borrowed {type(self._borrowed).__name__} client"

    def _raise(self, op: str, exc: BaseException) -> NoReturn:
        """Raise ``StoreError`` for a failed ``op``, cause chained, password removed from the message."""
        message = redact(f"{type(exc).__name__}: {exc}")
        password = self._config.url.password if self._config is not None else client_password(self._borrowed)
        if password:
            message = message.replace(password, "***")
        raise StoreError(f"redis {op} failed on {self._where()}: {message}") from exc

    def __repr__(self) -> str:
        return f"<RedisStore {self._where()} namespace={self.namespace!r}>"
