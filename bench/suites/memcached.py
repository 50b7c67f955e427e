"""memcached: MemcachedStore against bare aiomcache doing the same work, and aiocache's MemcachedCache as a peer.

Bare: ``get``; ``set``; ``multi_get``; ``mset``/``expire`` as ``asyncio.gather`` of ``set``/``touch``
(aiomcache's concurrent way), same pool size. Ours also keeps its directory index on writes.
"""

from __future__ import annotations

import asyncio

import aiomcache

from sessionkv import StoreURL
from sessionkv_memcached.store import MemcachedStore

from ..contention import add_counter
from ..operations import ALL, PublishedKV
from ..peers import aiocache_memcached
from ..suite import Context, compare_matrix, guarded, ratio_table

POOL = 4


class BareMemcached:
    """A ``KV`` on a bare aiomcache client with keys ``prefix + key`` (ASCII, short)."""

    supports = ALL

    def __init__(self, client: aiomcache.Client, prefix: str) -> None:
        self.client = client
        self.prefix = prefix

    def _raw(self, key: str) -> bytes:
        return (self.prefix + key).encode()

    async def get(self, key: str) -> object:
        return await self.client.get(self._raw(key))

    async def set(self, key: str, value: bytes, ttl: float) -> object:
        return await self.client.set(self._raw(key), value, int(ttl))

    async def mget(self, keys: list[str]) -> object:
        return await self.client.multi_get(*[self._raw(key) for key in keys])

    async def mset(self, items: list[tuple[str, bytes, float]]) -> object:
        return await asyncio.gather(*(self.client.set(self._raw(k), v, int(t)) for k, v, t in items))

    async def expire(self, keys: list[str], ttl: float) -> object:
        return await asyncio.gather(*(self.client.touch(self._raw(key), int(ttl)) for key in keys))


async def run(context: Context) -> None:
    bare_table = ratio_table(
        f"memcached: MemcachedStore vs bare aiomcache (same server, pool of {POOL})",
        "Ours validates input, encodes keys and keeps each directory's index (listing a call costs its sessions).",
    )
    peer_table = ratio_table(
        "memcached peer on the same server: MemcachedStore vs aiocache MemcachedCache",
        "aiocache's expire takes one key: no shared batch expire.",
    )
    context.report.tables += [bare_table, peer_table]
    url = context.servers.memcached()
    host = StoreURL.parse(url).host
    assert host is not None
    address, port = host.host, host.port or 11211

    async def against_bare() -> None:
        client = aiomcache.Client(address, port, pool_size=POOL)
        try:
            async with MemcachedStore(url, namespace="bench-ours:", pool_size=POOL) as store:
                bare = BareMemcached(client, "bench-bare:")
                group = "memcached: ours vs bare aiomcache"
                await compare_matrix(context, bare_table, group, PublishedKV(store), bare, "aiomcache")
        finally:
            await client.close()

    async def against_peer() -> None:
        cache = aiocache_memcached(address, port, "bench-aiocache:", POOL)
        try:
            async with MemcachedStore(url, namespace="bench-ours:", pool_size=POOL) as store:
                group = "memcached: ours vs aiocache"
                await compare_matrix(context, peer_table, group, PublishedKV(store), cache, "aiocache MemcachedCache")
        finally:
            await cache.close()

    await guarded(context, "memcached", bare_table, against_bare)
    await guarded(context, "memcached peers", peer_table, against_peer)
    await add_counter(
        context, "memcached", url, "Each attempt is a meta get (mg) plus a meta set compared on the CAS unique."
    )
