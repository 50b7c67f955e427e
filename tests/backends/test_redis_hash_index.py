"""``index_type=hash``: the directory index as hash fields that the server expires with their keys (Redis 7.4+,
Valkey 9+). Checked against what the server holds: each field expires at the very millisecond of its key, a
write sends no pruning or re-timing command, nothing is left once the keys lapse unlisted, listings page by
cursor, and a server without field expiry, or a namespace indexed the other way, is refused at start."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from hashlib import sha1

import pytest
import pytest_asyncio
import redis.asyncio as aioredis

from servers.process import ServerProcess
from servers.redis import RedisEndpoint, SendCounter, command_calls
from servers.redis_process import field_expiry_binary, start_redis
from sessionkv import StoreError
from sessionkv_redis.index import HASH, INDEX_PREFIX, SCRIPTS
from sessionkv_redis.store import RedisStore

pytestmark = pytest.mark.asyncio


def unique_namespace() -> str:
    return f"h-{uuid.uuid4().hex[:12]}:"


@pytest_asyncio.fixture
async def raw(redis_hash_server: RedisEndpoint) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_hash_server.url.split("?")[0])
    yield client
    await client.aclose()


@pytest_asyncio.fixture
async def store(redis_hash_server: RedisEndpoint) -> AsyncIterator[RedisStore]:
    async with RedisStore(redis_hash_server.url, namespace=unique_namespace()) as s:
        assert s.index_type == "hash"
        yield s


async def expiry_ms(raw: aioredis.Redis, store: RedisStore, key: str) -> tuple[int, list[int]]:
    """The key's expiry time and its field's in every directory index it is filed in (ms since the epoch)."""
    index = INDEX_PREFIX + store.namespace
    directories = [""] + [key[: i + 1] for i, ch in enumerate(key) if ch == "/"]
    fields = [(await raw.execute_command("HPEXPIRETIME", index + d, "FIELDS", 1, key))[0] for d in directories]
    return int(await raw.execute_command("PEXPIRETIME", store.namespace + key)), [int(f) for f in fields]


async def test_every_entry_expires_at_the_same_millisecond_as_its_key(store: RedisStore, raw: aioredis.Redis) -> None:
    await store.set("a/b/c", b"1", 30)
    await store.mset([("a/x", b"2", 40), ("top", b"3", 50)])
    assert await store.add("a/b/v", b"4", 60)
    for key in ("a/b/c", "a/x", "top", "a/b/v"):
        key_expiry, fields = await expiry_ms(raw, store, key)
        assert fields == [key_expiry] * len(fields) and key_expiry > 0
    await store.expire("a/b/c", ttl=5)  # shortened: the entries follow
    key_expiry, fields = await expiry_ms(raw, store, "a/b/c")
    assert fields == [key_expiry] * 3
    await store.touch(["a/x"], 90)  # lengthened
    key_expiry, fields = await expiry_ms(raw, store, "a/x")
    assert fields == [key_expiry] * 2
    await store.delete(["a/b/c"])
    assert await raw.hexists(INDEX_PREFIX + store.namespace + "a/b/", "a/b/c") == 0
    assert sorted(await store.keys("a/")) == ["a/b/v", "a/x"]


async def test_a_write_sends_one_set_and_a_field_per_directory(store: RedisStore, raw: aioredis.Redis) -> None:
    """No clock read, no prune, no re-timing of the index: what makes this index type cheaper to write."""
    await store.set("warm/x", b"v", 30)  # loads the script
    before = await command_calls(raw)
    await store.set("a/b/c", b"v", 30)
    after = await command_calls(raw)
    sent = {name: after[name] - before.get(name, 0) for name in after if after[name] != before.get(name, 0)}
    sent.pop("info", None)
    assert sent == {"evalsha": 1, "set": 1, "hset": 3, "hpexpire": 3}


async def test_a_lone_write_runs_the_one_key_script_and_a_tick_of_sets_the_batch_script(
    store: RedisStore, raw: aioredis.Redis
) -> None:
    """A lone set or touch writes its fields at once (no ``pending`` tables: about half the server time of a
    one-key set); concurrent sets share the batch script. Both file every entry with its key's expiry."""
    scripts = SCRIPTS[HASH]
    one_key, batch, expire_one = (
        sha1(source.encode()).hexdigest() for source in (scripts.set_one, scripts.set, scripts.expire_one)
    )
    await raw.script_flush()  # this worker's own server: the store loads again what it runs
    await store.set("one/k", b"v", 30)
    await store.touch(["one/k"], 40)
    assert await raw.script_exists(one_key, batch, expire_one) == [True, False, True]
    await asyncio.gather(*(store.set(f"many/{i}", b"v", 30) for i in range(20)))
    assert await raw.script_exists(batch) == [True]
    for key in ("one/k", "many/0", "many/19"):
        key_expiry, fields = await expiry_ms(raw, store, key)
        assert fields == [key_expiry] * 2 and key_expiry > 0
    assert len(await store.keys("many/")) == 20


async def test_a_batch_sends_two_index_commands_per_directory_and_ttl(store: RedisStore, raw: aioredis.Redis) -> None:
    """Fields wait until the script's end, then go one HSET and one HPEXPIRE per directory and ttl."""
    await store.mset([("warm/x", b"v", 30)])
    await store.touch(["warm/x"], 30)
    items = [(f"d/{i}", b"v", 30.0) for i in range(100)] + [(f"d/{i}", b"v", 40.0) for i in range(100, 150)]
    items.append(("d/7", b"again", 50.0))  # repeated: its last ttl wins, in the index as in its key
    before = await command_calls(raw)
    await store.mset(items)
    middle = await command_calls(raw)
    assert await store.touch([f"d/{i}" for i in range(150)] + ["d/missing"], 60) == ["d/missing"]
    after = await command_calls(raw)
    # mset: 3 ttls in d/ and in the root; touch: one ttl, so one HSET and one HPEXPIRE per directory
    assert (middle["hset"] - before["hset"], middle["hpexpire"] - before["hpexpire"]) == (6, 6)
    assert (after["hset"] - middle["hset"], after["hpexpire"] - middle["hpexpire"]) == (2, 2)
    for key in ("d/0", "d/7", "d/149"):
        key_expiry, fields = await expiry_ms(raw, store, key)
        assert fields == [key_expiry] * 2
    assert len(await store.keys("d/")) == 150


async def test_a_repeated_key_is_indexed_with_its_last_ttl(store: RedisStore, raw: aioredis.Redis) -> None:
    await store.mset([("r/k", b"1", 60), ("r/k", b"2", 5)])
    key_expiry, fields = await expiry_ms(raw, store, "r/k")
    assert fields == [key_expiry] * 2 and await store.get("r/k") == b"2"
    await store.mset([("r/k", b"3", 5), ("r/k", b"4", 60)])
    key_expiry, fields = await expiry_ms(raw, store, "r/k")
    assert fields == [key_expiry] * 2 and await raw.pttl(store.namespace + "r/k") > 50_000


async def test_nothing_is_left_once_keys_lapse_unlisted(store: RedisStore, raw: aioredis.Redis) -> None:
    """The server itself drops expired fields, and a hash with its last field: no listing has to prune."""
    churn = [(f"conv/{i}/state", b"s", 0.3) for i in range(50)] + [(f"flat/{i}", b"f", 0.3) for i in range(50)]
    await store.mset(churn)
    await store.set("kept/one", b"k", 60)
    patterns = [store.namespace + "*", INDEX_PREFIX + store.namespace + "*"]
    root, kept = INDEX_PREFIX + store.namespace, INDEX_PREFIX + store.namespace + "kept/"

    async def held() -> tuple[list[bytes], int]:
        """The namespace's keys and index keys, and the root index's fields (expired ones not yet dropped too)."""
        found = [key for pattern in patterns async for key in raw.scan_iter(match=pattern, count=1000)]
        return sorted(found), int(await raw.hlen(root))

    found, fields = await held()
    assert len(found) > 100 and fields == 101
    for _ in range(100):  # the server's active expiry: within a few of its cycles (10 per second)
        await asyncio.sleep(0.1)
        found, fields = await held()
        if len(found) == 3 and fields == 1:
            break
    assert found == sorted(k.encode() for k in (store.namespace + "kept/one", root, kept))
    assert fields == 1 and await raw.hlen(kept) == 1


async def test_listing_pages_by_cursor_each_key_once(
    store: RedisStore, monkeypatch: pytest.MonkeyPatch, redis_round_trips: SendCounter
) -> None:
    """Past 128 fields a hash is a real hash table and HSCAN pages through it by cursor."""
    monkeypatch.setattr("sessionkv_redis.store.PAGE", 50)
    stored = {f"d/{i:03}": str(i).encode() for i in range(400)}
    await store.mset([(key, value, 30) for key, value in stored.items()])
    await store.mset([("d-other", b"x", 30), ("d/gone", b"g", 0.05)])
    await asyncio.sleep(0.1)
    sends, examined = redis_round_trips.sends, store.keys_examined
    keys = await store.keys("d/")
    assert sorted(keys) == sorted(stored) and len(keys) == len(stored)
    assert redis_round_trips.sends - sends > 2  # several pages
    assert store.keys_examined - examined >= len(stored)
    found = await store.items("d/0")
    assert sorted(found) == sorted((k, v) for k, v in stored.items() if k.startswith("d/0"))


async def test_refused_at_start_where_the_server_cannot_expire_fields() -> None:
    binary = field_expiry_binary()
    assert binary is not None
    server: ServerProcess = start_redis("--rename-command", "HPEXPIRE", '""', binary=binary)
    try:
        url = f"redis://{server.host}:{server.port}/0?index_type=hash"
        with pytest.raises(StoreError, match=r"index_type=hash needs hash field expiry \(Redis 7.4\+ or Valkey 9\+\)"):
            await RedisStore(url, namespace=unique_namespace()).start()
        async with RedisStore(url.replace("hash", "sorted_set"), namespace=unique_namespace()) as plain:
            await plain.set("d/k", b"v", 30)
            assert await plain.keys("d/") == ["d/k"]
    finally:
        server.cleanup()


async def test_a_namespace_indexed_the_other_way_is_refused_at_start(redis_hash_server: RedisEndpoint) -> None:
    namespace = unique_namespace()
    async with RedisStore(redis_hash_server.url, namespace=namespace) as hashed:
        await hashed.set("d/k", b"v", 30)
        sorted_url = redis_hash_server.url.replace("index_type=hash", "index_type=sorted_set")
        with pytest.raises(StoreError, match=r"indexed with index_type=hash by other stores; this one was opened"):
            await RedisStore(sorted_url, namespace=namespace).start()
        assert await hashed.get("d/k") == b"v" and await hashed.keys("d/") == ["d/k"]
    async with RedisStore(sorted_url, namespace=unique_namespace()) as other:  # another namespace: free to choose
        await other.set("d/k", b"v", 30)
        with pytest.raises(StoreError, match="indexed with index_type=sorted_set by other stores"):
            await RedisStore(redis_hash_server.url, namespace=other.namespace).start()


async def test_a_cluster_files_a_tagged_key_with_its_expiry_alone_and_in_batches(
    redis_hash_cluster: RedisEndpoint,
) -> None:
    """On a cluster the hash-tagged directory's index shares the key's slot: a lone set (the one-key script), a
    batch and a touch file the field with its key's expiry, and a delete removes it."""
    async with RedisStore(redis_hash_cluster.url, namespace=unique_namespace()) as store:
        assert store.index_type == "hash" and isinstance(store.client, aioredis.RedisCluster)
        client = store.client
        index = INDEX_PREFIX + store.namespace + "s/{c1}/"

        async def expiries(key: str) -> tuple[int, int]:
            field = (await client.execute_command("HPEXPIRETIME", index, "FIELDS", 1, key))[0]
            return int(await client.execute_command("PEXPIRETIME", store.namespace + key)), int(field)

        await store.set("s/{c1}/lone", b"1", 30)
        await store.mset([("s/{c1}/a", b"2", 40), ("s/{c1}/b", b"3", 50)])
        assert await store.touch(["s/{c1}/a"], 60) == []
        for key in ("s/{c1}/lone", "s/{c1}/a", "s/{c1}/b"):
            key_expiry, field_expiry = await expiries(key)
            assert key_expiry == field_expiry > 0, key
        assert sorted(await store.keys("s/{c1}/")) == ["s/{c1}/a", "s/{c1}/b", "s/{c1}/lone"]
        await store.delete(["s/{c1}/lone"])
        assert await client.hexists(index, "s/{c1}/lone") == 0
