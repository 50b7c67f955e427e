"""RedisStore on a single real redis-server: semantics that are easy to get wrong (XX, PX rounding,
pipelining, SCAN escaping), checked against what the server actually holds and counts."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import pytest_asyncio
import redis.asyncio as aioredis

from servers.redis import RedisEndpoint, SendCounter, command_calls
from sessionkv import ValueTooLargeError, open_store
from sessionkv_redis.scan import SCAN_COUNT
from sessionkv_redis.store import SINGLE_NODE_CAPABILITIES, RedisStore
from sessionkv_redis.versions import HEADER_SIZE, MAGIC

pytestmark = pytest.mark.asyncio


def unique_namespace(tag: str = "t") -> str:
    return f"{tag}-{uuid.uuid4().hex[:12]}:"


@pytest_asyncio.fixture
async def raw(redis_server: RedisEndpoint) -> AsyncIterator[aioredis.Redis]:
    """A bare redis-py client on the same server, to look behind the store's back."""
    client = aioredis.Redis.from_url(redis_server.url)
    yield client
    await client.aclose()


@pytest_asyncio.fixture
async def store(redis_server: RedisEndpoint) -> AsyncIterator[RedisStore]:
    async with RedisStore(redis_server.url, namespace=unique_namespace()) as s:
        yield s


async def server_ms(raw: aioredis.Redis) -> tuple[int, int]:
    """The server clock as (floor, ceil) milliseconds."""
    seconds, micros = await raw.time()
    return seconds * 1000 + micros // 1000, seconds * 1000 + (micros + 999) // 1000


async def test_opened_through_the_plugin_by_url(redis_server: RedisEndpoint) -> None:
    async with open_store(redis_server.url, namespace=unique_namespace()) as s:
        assert isinstance(s, RedisStore) and s.capabilities.atomic_mset
        assert s.capabilities.ttl_resolution == SINGLE_NODE_CAPABILITIES.ttl_resolution == 0.001
        await s.set("k", b"v", 5)
        assert await s.get("k") == b"v"


async def test_keys_and_values_on_the_server(store: RedisStore, raw: aioredis.Redis) -> None:
    key = "sessión/✓"
    await store.set(key, b"\x00\xffbytes", 10)
    stored = await raw.get((store.namespace + key).encode())
    assert stored[:5] == MAGIC and stored[HEADER_SIZE:] == b"\x00\xffbytes"  # the version header, then the value
    assert await store.get(key) == b"\x00\xffbytes"
    assert await store.get("missing") is None
    await store.set("empty", b"", 10)
    assert await store.get("empty") == b""


async def test_long_unicode_key(store: RedisStore) -> None:
    key = "é" * 2000  # 4000 UTF-8 bytes
    await store.set(key, b"v", 10)
    assert await store.get(key) == b"v"
    assert await store.keys("é") == [key]


async def test_only_if_exists_is_set_xx(store: RedisStore, raw: aioredis.Redis) -> None:
    before = await command_calls(raw)
    await store.set("absent", b"x", 10, only_if_exists=True)
    assert await store.get("absent") is None
    await store.set("live", b"1", 10)
    await store.set("live", b"2", 20, only_if_exists=True)
    assert await store.get("live") == b"2"
    assert 19_000 < await raw.pttl(store.namespace + "live") <= 20_000
    after = await command_calls(raw)
    assert after["set"] - before.get("set", 0) == 3  # one atomic SET each, no read-then-write
    assert after.get("exists", 0) == before.get("exists", 0)


async def test_only_if_exists_does_not_revive_an_expired_key(store: RedisStore) -> None:
    await store.set("short", b"1", 0.02)
    await asyncio.sleep(0.05)
    await store.set("short", b"2", 10, only_if_exists=True)
    assert await store.get("short") is None


async def test_px_is_whole_milliseconds_rounded_up(store: RedisStore, raw: aioredis.Redis) -> None:
    low, _ = await server_ms(raw)
    await store.set("k", b"v", 1.0004)
    _, high = await server_ms(raw)
    deadline = await raw.pexpiretime(store.namespace + "k")
    assert low + 1001 <= deadline <= high + 1001


async def test_expire_is_whole_milliseconds_rounded_up(store: RedisStore, raw: aioredis.Redis) -> None:
    await store.set("k", b"v", 100)
    low, _ = await server_ms(raw)
    await store.expire("k", ttl=2.0004)
    _, high = await server_ms(raw)
    deadline = await raw.pexpiretime(store.namespace + "k")
    assert low + 2001 <= deadline <= high + 2001


async def test_tiny_ttls_round_up_to_one_millisecond_not_zero(store: RedisStore, raw: aioredis.Redis) -> None:
    # PX 0 would be a server error; PEXPIRE 0 would delete at once. Both must become 1 ms.
    await store.set("tiny", b"v", 1e-9)
    await store.mset([("tiny2", b"v", 1e-12)])
    await store.set("live", b"v", 100)
    await store.expire("live", ttl=1e-9)
    assert await store.touch(["live2"], 1e-9) == ["live2"]
    await asyncio.sleep(0.01)
    assert await store.mget(["tiny", "tiny2", "live"]) == [None, None, None]


async def warm_up(store: RedisStore) -> None:
    """Open the pooled connection and load every script once, so later calls show their steady cost."""
    await store.mset([("warm-up", b"v", 1)])
    await store.touch(["warm-up"], 1)  # the one-key script
    await store.touch(["warm-up", "warm-up/2"], 1)  # the batch script
    await store.set("warm-up", b"v", 1, only_if_exists=True)
    await store.keys("warm-up")
    await store.delete(["warm-up"])


async def test_mset_is_one_atomic_round_trip(
    store: RedisStore, raw: aioredis.Redis, redis_round_trips: SendCounter
) -> None:
    await warm_up(store)
    items = [(f"k{i}", str(i).encode(), 10.0 + i) for i in range(100)]
    before = await command_calls(raw)
    sends = redis_round_trips.sends
    await store.mset(items)
    assert redis_round_trips.sends - sends == 1
    after = await command_calls(raw)
    assert after["set"] - before.get("set", 0) == 100
    assert after["evalsha"] - before.get("evalsha", 0) == 1  # one script: atomic, index included
    assert await store.mget([k for k, _, _ in items]) == [v for _, v, _ in items]
    assert 50_000 < await raw.pttl(store.namespace + "k42") <= 52_000


async def test_mget_expire_touch_delete_are_one_round_trip_each(
    store: RedisStore, raw: aioredis.Redis, redis_round_trips: SendCounter
) -> None:
    await warm_up(store)
    keys = [f"k{i}" for i in range(100)]
    await store.mset([(k, b"v", 10) for k in keys[:60]])
    calls: list[tuple[Callable[[], Awaitable[Any]], str, int]] = [
        (lambda: store.mget(keys), "mget", 1),
        (lambda: store.expire(*keys, ttl=30), "pexpire", 100),
        (lambda: store.touch(keys, 30), "pexpire", 100),
        (lambda: store.delete(keys), "del", 100),  # one script deletes keys and index entries
    ]
    for call, command, count in calls:
        before = await command_calls(raw)
        sends = redis_round_trips.sends
        result = await call()
        assert redis_round_trips.sends - sends == 1, command
        after = await command_calls(raw)
        assert after[command] - before.get(command, 0) == count, command
        if command == "mget":
            assert result == [b"v"] * 60 + [None] * 40
    assert await store.keys() == []


async def test_expire_and_touch_never_create_and_report_missing(store: RedisStore, raw: aioredis.Redis) -> None:
    await store.mset([("a", b"1", 0.5), ("c", b"3", 0.5)])
    await store.expire("a", "b", ttl=30)
    assert await raw.exists(store.namespace + "b") == 0
    assert 29_000 < await raw.pttl(store.namespace + "a") <= 30_000
    assert await store.touch(["a", "b", "c", "d"], 40) == ["b", "d"]
    assert 39_000 < await raw.pttl(store.namespace + "c") <= 40_000
    assert await store.mget(["b", "d"]) == [None, None]


async def test_mget_keeps_order_and_repeats(store: RedisStore) -> None:
    await store.mset([("a", b"1", 10), ("b", b"2", 10)])
    assert await store.mget(["b", "zz", "a", "b"]) == [b"2", None, b"1", b"2"]


GLOB_KEYS = ["a*", "a*b", "abc", "a?c", "a[b]c", "abc]", "a\\x", "a\\*", "ax", "[", "]", "\\"]


@pytest.mark.parametrize("prefix", ["a*", "a?", "a[b]", "a[", "a\\", "[", "]", "\\", "a", ""])
async def test_keys_takes_the_prefix_literally(store: RedisStore, prefix: str) -> None:
    await store.mset([(k, b"v", 10) for k in GLOB_KEYS])
    assert sorted(await store.keys(prefix)) == sorted(k for k in GLOB_KEYS if k.startswith(prefix))


async def test_keys_with_glob_characters_in_the_namespace(redis_server: RedisEndpoint) -> None:
    tag = uuid.uuid4().hex[:8]
    async with (
        RedisStore(redis_server.url, namespace=f"ns*[{tag}]?\\:") as tricky,
        RedisStore(redis_server.url, namespace=f"nsX{tag}]?\\:") as glob_match,
        RedisStore(redis_server.url, namespace=f"ns*[{tag}]?\\-sub:") as longer,
    ):
        await tricky.set("mine", b"1", 10)
        await glob_match.set("theirs", b"2", 10)
        await longer.set("deeper", b"3", 10)
        assert await tricky.keys() == ["mine"]  # a look-alike namespace's keys are its own (index per namespace)
        assert await glob_match.keys() == ["theirs"]
        assert await longer.keys() == ["deeper"]


@pytest.mark.parametrize("indexed", [True, False])
async def test_keys_never_uses_keys_and_pages_through_many(
    redis_server: RedisEndpoint, raw: aioredis.Redis, indexed: bool
) -> None:
    async with RedisStore(redis_server.url, namespace=unique_namespace(), directory_index=indexed) as store:
        keys = [f"s{i}" for i in range(2500)] + [f"dir/{i}" for i in range(12_000)]
        for start in range(0, len(keys), 5000):
            await store.mset([(k, b"v", 10) for k in keys[start : start + 5000]])
        before = await command_calls(raw)
        found = await store.keys("s")
        in_dir = await store.keys("dir/")
        after = await command_calls(raw)
        assert sorted(found) == sorted(k for k in keys if k.startswith("s")) and len(found) == len(set(found))
        assert sorted(in_dir) == sorted(k for k in keys if k.startswith("dir/"))  # more than one page of 10,000
        assert after.get("keys", 0) == before.get("keys", 0)
        scans = after.get("scan", 0) - before.get("scan", 0)
        assert (scans == 0) if indexed else (scans >= 1)
        await store.delete(keys)


async def test_listing_a_directory_reads_only_its_entries(store: RedisStore, raw: aioredis.Redis) -> None:
    """The directory index: keys('s/call/') examines that call's entries, however many others exist."""
    await warm_up(store)
    await store.mset([(f"s/other-{i}/x", b"v", 30) for i in range(3000)])
    await store.mset([(f"s/call/{i}", b"v", 30) for i in range(5)] + [("s/callx/0", b"v", 30)])
    index_key = "\x00sessionkv-dir\x00" + store.namespace + "s/call/"
    assert await raw.zcard(index_key.encode()) == 5
    before = await command_calls(raw)
    assert sorted(await store.keys("s/call/")) == [f"s/call/{i}" for i in range(5)]
    after = await command_calls(raw)
    assert after["zrangebyscore"] - before.get("zrangebyscore", 0) == 1
    assert after.get("scan", 0) == before.get("scan", 0)
    assert sorted(await store.keys("s/call")) == [*(f"s/call/{i}" for i in range(5)), "s/callx/0"]
    assert len(await store.keys("s/")) == 3006
    await store.delete(await store.keys(""))
    assert [k for k in await raw.keys("*") if store.namespace.encode() in k] == []  # index entries gone too


async def test_a_lone_set_prunes_its_directories_and_keeps_their_expiry_exact(
    store: RedisStore, raw: aioredis.Redis
) -> None:
    """The one-key script settles each directory it writes: expired members go, and the index set expires with
    its latest member, a lowered one too (so it never outlives its keys)."""
    await warm_up(store)
    index = ("\x00sessionkv-dir\x00" + store.namespace + "d/").encode()
    await store.mset([(f"d/gone-{i}", b"v", 0.1) for i in range(5)] + [("d/new", b"v", 20)])
    await store.set("d/live", b"v", 30)
    await asyncio.sleep(0.3)  # the five expire; their members stay until something prunes them
    assert await raw.zcard(index) == 7
    await store.set("d/live", b"v", 30)  # a re-set, as a heartbeat does
    assert await raw.zcard(index) == 2

    async def expiry_is_the_deadline_of(key: str) -> None:
        # the script's clock (TIME, floored to ms) may read 1 ms before the command time a SET PX counts from:
        # the set then expires up to 1 ms before its latest key, never after it (a CI run saw 1 ms)
        assert 0 <= await raw.pexpiretime(store.namespace + key) - await raw.pexpiretime(index) <= 1

    await expiry_is_the_deadline_of("d/live")  # 30 s, the latest
    await store.set("d/live", b"v", 5)  # the latest member lowered: the set's expiry follows
    await expiry_is_the_deadline_of("d/new")
    await store.set("d/new", b"v", 2)
    await expiry_is_the_deadline_of("d/live")


@pytest.mark.parametrize("indexed", [True, False])
async def test_keys_examined_counts_index_members_or_scan_calls(redis_server: RedisEndpoint, indexed: bool) -> None:
    async with RedisStore(redis_server.url, namespace=unique_namespace(), directory_index=indexed) as store:
        assert store.keys_examined == 0
        assert store.capabilities.directory_listing == ("indexed" if indexed else "scan")
        mine = [f"s/call/{i}" for i in range(5)]
        await store.mset([(f"s/other-{i}/x", b"v", 30) for i in range(2500)] + [(k, b"v", 30) for k in mine])
        await store.set("s/call/short", b"v", 0.02)
        await asyncio.sleep(0.05)
        before = store.keys_examined
        assert sorted(await store.keys("s/call/")) == mine
        examined = store.keys_examined - before
        if indexed:
            assert examined == len(mine) + 1  # its own entries, the expired one pruned
        else:
            assert examined >= 3 * SCAN_COUNT and examined % SCAN_COUNT == 0  # COUNT per SCAN call
        await store.delete(await store.keys(""))


async def test_keys_skip_expired_and_other_namespaces(store: RedisStore, raw: aioredis.Redis) -> None:
    await store.set("old", b"v", 0.02)
    await store.set("new", b"v", 10)
    await raw.set("elsewhere:new2", b"v", px=10_000)
    await asyncio.sleep(0.05)
    assert await store.keys("") == ["new"]


async def test_mset_last_item_wins_for_a_repeated_key(store: RedisStore) -> None:
    await store.mset([("k", b"1", 10), ("k", b"2", 10)])
    assert await store.get("k") == b"2"


async def test_large_value_round_trip(store: RedisStore) -> None:
    value = bytes(range(256)) * 8192  # 2 MiB
    await store.set("big", value, 10)
    assert await store.get("big") == value


async def test_max_value_size_is_the_servers_bulk_limit(store: RedisStore, raw: aioredis.Redis) -> None:
    limit = int(str((await raw.config_get("proto-max-bulk-len"))["proto-max-bulk-len"]))
    assert store.capabilities.max_value_size == limit - HEADER_SIZE  # every value carries the version header
    await store.set("kept", b"old", 10)
    with pytest.raises(ValueTooLargeError):
        await store.set("kept", b"x" * (limit - HEADER_SIZE + 1), 10)
    assert await store.get("kept") == b"old"


async def test_touch_of_more_keys_than_one_script_call_holds(store: RedisStore, raw: aioredis.Redis) -> None:
    from sessionkv_redis.store import TOUCH_CHUNK

    await warm_up(store)  # loads the touch script: the count below is then the steady one, whatever ran before
    keys = [f"t{i}" for i in range(TOUCH_CHUNK + 7)]
    live = keys[::3]
    await store.mset([(k, b"v", 0.5) for k in live])
    before = await command_calls(raw)
    missing = await store.touch(keys, 60)
    after = await command_calls(raw)
    assert sorted(missing) == sorted(set(keys) - set(live))
    assert after["evalsha"] - before.get("evalsha", 0) == 2
    assert await raw.pttl(store.namespace + live[-1]) > 50_000
    await store.delete(live)


async def test_items_reads_a_directory_with_its_values_in_one_round_trip(
    store: RedisStore, raw: aioredis.Redis, redis_round_trips: SendCounter
) -> None:
    """One script lists the directory's index and reads the values (ITEMS_LUA): no SCAN, no second round trip."""
    await warm_up(store)
    await store.items("warm-up/")  # loads the script
    await store.mset([(f"s/other-{i}/x", b"o", 30) for i in range(300)])
    mine = {f"s/call/{i}": f"v{i}".encode() for i in range(5)} | {"s/call/empty": b""}
    await store.mset([(key, value, 30) for key, value in mine.items()] + [("s/callx/0", b"x", 30)])
    await store.set("s/call/gone", b"g", 0.05)
    await asyncio.sleep(0.1)
    before, sends, examined = await command_calls(raw), redis_round_trips.sends, store.keys_examined
    assert sorted(await store.items("s/call/")) == sorted(mine.items())
    assert redis_round_trips.sends - sends == 1
    after = await command_calls(raw)
    assert after["evalsha"] - before.get("evalsha", 0) == 1 and after.get("scan", 0) == before.get("scan", 0)
    assert after["mget"] - before.get("mget", 0) == 1  # inside the script
    assert store.keys_examined - examined == len(mine) + 1  # the directory's members, and the expired one pruned
    assert sorted(await store.items("s/call")) == sorted([*mine.items(), ("s/callx/0", b"x")])
    assert await store.items("s/call/3") == [("s/call/3", b"v3")]
    assert await store.items("s/nobody/") == []


async def test_items_pages_through_a_large_directory(
    store: RedisStore, monkeypatch: pytest.MonkeyPatch, redis_round_trips: SendCounter
) -> None:
    monkeypatch.setattr("sessionkv_redis.store.PAGE", 4)
    stored = {f"d/{i:02}": f"{i}".encode() for i in range(10)}
    await store.mset([(key, value, 30) for key, value in stored.items()])
    await store.items("warm-up/")
    sends = redis_round_trips.sends
    found = await store.items("d/")
    assert sorted(found) == sorted(stored.items()) and len(found) == len(stored)
    assert redis_round_trips.sends - sends == 3  # pages of 4, 4 and 2


async def test_items_without_the_index_is_keys_then_mget(redis_server: RedisEndpoint) -> None:
    async with RedisStore(redis_server.url, namespace=unique_namespace(), directory_index=False) as store:
        await store.mset([("d/a", b"1", 30), ("d/b", b"2", 30), ("e", b"3", 30)])
        assert sorted(await store.items("d/")) == [("d/a", b"1"), ("d/b", b"2")]
        assert store.keys_examined >= SCAN_COUNT  # listed by SCAN
