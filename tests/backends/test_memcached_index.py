"""The memcached directory index under concurrency and eviction: several store instances (as separate nodes)
writing, expiring and listing one directory lose no key, and a listing that lost index items (eviction) is
whole again after one registry heartbeat."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

import pytest

from servers.ladder import Endpoint
from servers.memcached_process import memcached_url
from servers.process import ServerProcess
from sessionkv import SessionRegistry
from sessionkv.registry.keys import session_key
from sessionkv_memcached.keyspace import INDEX_SHARDS
from sessionkv_memcached.protocol import Pipeline
from sessionkv_memcached.store import MemcachedStore

pytestmark = pytest.mark.asyncio
StartMemcached = Callable[..., ServerProcess]
NODES = 5


async def delete_raw(store: MemcachedStore, keys: list[bytes]) -> None:
    """Delete server items behind the store's back, as an eviction would."""

    async def work(conn: object) -> None:
        pipe = Pipeline()
        for key in keys:
            pipe.delete(key)
        await pipe.run(conn)  # type: ignore[arg-type]

    await store._run("evict", work)  # type: ignore[arg-type]


async def test_concurrent_writers_and_listers_lose_nothing(memcached_server: Endpoint) -> None:
    namespace = f"conc-{uuid.uuid4().hex[:12]}:"
    stores = [MemcachedStore(memcached_server.url, namespace=namespace) for _ in range(NODES)]
    for store in stores:
        await store.start()
    try:
        # Dead entries for the listers to prune while the writers append: keys that expire first.
        await stores[0].mset([(f"room/dead{i}", b"x", 1) for i in range(50)])
        await stores[0].mset([(f"room/sub{i}/dead", b"x", 1) for i in range(10)])
        await asyncio.sleep(2.2)

        async def writer(n: int, store: MemcachedStore) -> set[str]:
            written: set[str] = set()
            for i in range(30):
                key = f"room/n{n}-{i}"
                if i % 3 == 0:
                    pair = [key, f"room/sub{i % 10}/n{n}-{i}"]  # existing (pruned) and new sub-directories
                    await store.mset([(k, b"v", 60) for k in pair])
                    written.update(pair)
                else:
                    await store.set(key, b"v", 60)
                    written.add(key)
                if i % 7 == 0:
                    await store.delete([key])
                    written.discard(key)
                await asyncio.sleep(0)
            return written

        async def lister(store: MemcachedStore) -> None:
            for _ in range(15):
                await store.keys("room/")
                await store.keys("room/sub")

        results = await asyncio.gather(
            *(writer(n, store) for n, store in enumerate(stores)), *(lister(store) for store in stores)
        )
        expected = set().union(*[r for r in results if isinstance(r, set)])
        for store in stores:
            assert set(await store.keys("room/")) == expected
        assert set(await stores[1].keys("")) == expected
    finally:
        for store in stores:
            await store.close()


async def test_touch_repairs_index_items_lost_to_eviction(memcached_server: Endpoint) -> None:
    async with MemcachedStore(memcached_server.url, namespace=f"ev-{uuid.uuid4().hex[:12]}:") as store:
        keys = [f"s/c{i % 3}/x{i}" for i in range(12)]
        await store.mset([(key, b"v", 60) for key in keys])
        assert await store.touch(keys, 60) == []  # learns the index items' epochs
        shards = [store._space.shard(d, s) for d in ("", "s/", "s/c1/") for s in range(INDEX_SHARDS)]
        await delete_raw(store, shards)
        assert await store.keys("s/c1/") == [] and await store.keys("") == []  # the listing lost them
        assert await store.touch(keys, 60) == []
        assert sorted(await store.keys("")) == sorted(keys)
        assert sorted(await store.keys("s/c1/")) == sorted(k for k in keys if k.startswith("s/c1/"))


async def test_registry_listing_whole_after_a_full_cache_evicts_everything(memcached_process: StartMemcached) -> None:
    server = memcached_process(memory_mb=2)
    url = memcached_url(server, namespace=f"reg-{uuid.uuid4().hex[:8]}:")
    async with MemcachedStore(url) as store, SessionRegistry(store, node_id="node", ttl=30) as registry:
        sessions = [(f"call-{i % 4}", f"s{i}") for i in range(20)]
        for call_id, session_id in sessions:
            await registry.register(call_id, session_id)
        await registry.heartbeat()
        assert len(await registry.list_sessions()) == len(sessions)
        filler = MemcachedStore(memcached_url(server), namespace="filler:")
        async with filler:
            # memcached evicts within a slab class (item size): filler of every size the store's items have.
            sizes = [40, 90, 150, 220, 300, 420, 600, 900]
            for batch in range(400):  # a 2 MB cache: a few MB of filler evicts the oldest items
                await filler.mset([(f"j/{batch}-{i}", b"j" * sizes[i % len(sizes)], 600) for i in range(100)])
            lost = [key for key in (session_key(c, s) for c, s in sessions) if await store.get(key) is None]
            assert lost, "the filler never evicted a record"
            assert len(await store.keys("s/")) < len(sessions)
        await registry.heartbeat()
        assert sorted((s.call_id, s.session_id) for s in await registry.list_sessions()) == sorted(sessions)
        for call in {call_id for call_id, _ in sessions}:
            expected = sorted(s for c, s in sessions if c == call)
            assert sorted(s.session_id for s in await registry.get_for_call(call)) == expected
