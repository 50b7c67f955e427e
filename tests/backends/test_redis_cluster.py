"""RedisStore on a real 3-primary Redis Cluster: batches and listing across hash slots and nodes."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from redis.asyncio import RedisCluster

from servers.redis import RedisEndpoint, SendCounter
from sessionkv import open_store
from sessionkv_redis.store import CLUSTER_CAPABILITIES, RedisStore

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def store(redis_cluster: RedisEndpoint) -> AsyncIterator[RedisStore]:
    async with RedisStore(redis_cluster.url, namespace=f"cl-{uuid.uuid4().hex[:12]}:") as s:
        yield s


async def keys_per_primary(store: RedisStore) -> list[int]:
    """How many of the store's keys each primary holds (SCAN on every node separately)."""
    client = store.client
    assert isinstance(client, RedisCluster)
    counts = []
    for node in client.get_primaries():
        cursor, found = 0, 0
        while True:
            cursor, batch = await node.execute_command("SCAN", cursor, "MATCH", store.namespace + "*", "COUNT", 1000)
            found += len(batch)
            if int(cursor) == 0:
                break
        counts.append(found)
    return counts


async def test_cluster_url_opens_a_cluster_store(redis_cluster: RedisEndpoint) -> None:
    async with open_store(redis_cluster.url, namespace=f"cl-{uuid.uuid4().hex[:12]}:") as s:
        assert isinstance(s, RedisStore) and isinstance(s.client, RedisCluster)
        assert not s.capabilities.atomic_mset and s.capabilities.max_ttl == CLUSTER_CAPABILITIES.max_ttl
        await s.set("k", b"v", 10)
        assert await s.get("k") == b"v"


async def test_mset_mget_keys_across_every_primary(store: RedisStore) -> None:
    keys = [f"user-{i}" for i in range(300)]
    await store.mset([(k, k.encode(), 10) for k in keys])
    counts = await keys_per_primary(store)
    assert len(counts) == 3 and all(c > 0 for c in counts) and sum(counts) == 300
    assert sorted(await store.keys()) == sorted(keys)
    assert sorted(await store.keys("user-1")) == sorted(k for k in keys if k.startswith("user-1"))
    wanted = ["user-7", "nope", "user-250", "user-7", "user-0"]
    assert await store.mget(wanted) == [b"user-7", None, b"user-250", b"user-7", b"user-0"]


async def test_expire_touch_delete_across_slots(store: RedisStore) -> None:
    keys = [f"k{i}" for i in range(60)]
    await store.mset([(k, b"v", 0.3) for k in keys[:40]])
    await store.expire(*keys, ttl=30)
    assert await store.touch(keys, 30) == keys[40:]
    await asyncio.sleep(0.4)
    assert sorted(await store.keys()) == sorted(keys[:40])  # refreshed, and nothing was created
    await store.delete([*keys[:20], "never-there"])
    assert sorted(await store.keys()) == sorted(keys[20:40])


async def test_only_if_exists_and_ttl_rounding_in_cluster(store: RedisStore) -> None:
    await store.set("absent", b"x", 10, only_if_exists=True)
    assert await store.get("absent") is None
    await store.set("tiny", b"v", 1e-9)
    await store.set("live", b"1", 10)
    await store.set("live", b"2", 10, only_if_exists=True)
    await asyncio.sleep(0.01)
    assert await store.mget(["tiny", "live"]) == [None, b"2"]


async def test_glob_characters_in_cluster_keys(store: RedisStore) -> None:
    names = ["a*", "a*b", "abc", "a?c", "a[b]c", "a\\x"]
    await store.mset([(n, b"v", 10) for n in names])
    assert sorted(await store.keys("a*")) == ["a*", "a*b"]
    assert await store.keys("a[") == ["a[b]c"]
    assert await store.keys("a\\") == ["a\\x"]


async def test_batches_are_one_round_trip_per_node(store: RedisStore, redis_round_trips: SendCounter) -> None:
    keys = [f"rt-{i}" for i in range(300)]
    await store.mset([(k, b"v", 10) for k in keys])  # warms up a connection to every node
    for call in (
        lambda: store.mset([(k, b"w", 10) for k in keys]),
        lambda: store.mget(keys),
        lambda: store.expire(*keys, ttl=20),
        lambda: store.touch(keys, 20),
    ):
        sends = redis_round_trips.sends
        await call()
        assert redis_round_trips.sends - sends == 3  # one pipelined write per primary, not one per key or slot
