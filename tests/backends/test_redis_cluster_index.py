"""Redis Cluster's hash-tagged directory index: the tag rule against redis-py's ``key_slot``, then, on a real
3-primary cluster, every write path keeping the index exact, what listing examines, and round trips per node."""

from __future__ import annotations

import asyncio
import uuid
from binascii import crc_hqx
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from hypothesis import given
from hypothesis import strategies as st
from redis.asyncio import RedisCluster
from redis.crc import REDIS_CLUSTER_HASH_SLOTS, key_slot

from servers.redis import RedisEndpoint, SendCounter
from sessionkv import SessionRegistry
from sessionkv.registry.keys import call_prefix, session_key
from sessionkv_redis.index import INDEX_PREFIX, hash_tag_end, tagged_directories
from sessionkv_redis.scan import SCAN_COUNT
from sessionkv_redis.store import RedisStore

# -- the rule, checked against redis-py's own slot function ----------------------------------------

TRICKY_KEYS = [
    "plain", "{a}", "{a}b", "a{b}c", "{}", "{}a", "{}{a}", "a{}{b}", "{a", "a}", "}{a}", "{{a}}", "{a}{b}",
    "{a}}", "{{}}", "x/{y}/z", "{é}/x", "{/}/a", "a{b/c}d/e", "s/{call}/s", "s/{}/s", "s/{c/s", "s/c}/{d}/e",
]  # fmt: skip
NAMESPACES = ["", "ns:", "n{s}:", "n{s:", "{}:", "n}s{:", "n{}s:"]
KEY_TEXT = st.text(alphabet="{}/aé", min_size=1, max_size=14)


def slot_of(text: str) -> int:
    return crc_hqx(text.encode(), 0) % REDIS_CLUSTER_HASH_SLOTS


def check_tag_end(key: str) -> None:
    """``hash_tag_end`` names exactly the text Redis hashes: the tag, or the whole key."""
    end = hash_tag_end(key)
    if end is None:
        assert key_slot(key.encode()) == slot_of(key), key
    else:
        start = key.index("{")
        assert key[end - 1] == "}" and end - 1 > start + 1, key
        assert key_slot(key.encode()) == slot_of(key[start + 1 : end - 1]), key


def check_directories(namespace: str, key: str) -> None:
    """A directory is indexed for ``key`` exactly when listing it reads the index, and then shares its slot."""
    full_slot = key_slot((namespace + key).encode())
    indexed = tagged_directories(namespace, key)
    directories = ["", *(key[: i + 1] for i, char in enumerate(key) if char == "/")]
    assert set(indexed) <= set(directories)
    for folder in directories:
        listed_from_index = hash_tag_end(namespace + folder) is not None  # the store's listing rule
        assert (folder in indexed) == listed_from_index, (namespace, key, folder)
        if folder in indexed:
            assert key_slot((INDEX_PREFIX + namespace + folder).encode()) == full_slot, (namespace, key, folder)


@pytest.mark.parametrize("key", TRICKY_KEYS)
def test_hash_tag_end_agrees_with_key_slot(key: str) -> None:
    check_tag_end(key)
    for namespace in NAMESPACES:
        check_tag_end(namespace + key)
        check_directories(namespace, key)


@given(namespace=st.sampled_from(NAMESPACES), key=KEY_TEXT)
def test_tag_rule_on_generated_keys(namespace: str, key: str) -> None:
    check_tag_end(namespace + key)
    check_directories(namespace, key)


def test_registry_keys_carry_a_complete_tag() -> None:
    for call in ("c", "a/b", "{x}", "}{", "é {}", "%7B"):
        key, folder = session_key(call, "s/{1}"), call_prefix(call)
        assert key.startswith(folder) and tagged_directories("sessionkv:", key) == [folder]
        assert hash_tag_end("sessionkv:" + folder) == len("sessionkv:" + folder) - 1


# -- on a real cluster -------------------------------------------------------------------------------


def unique_namespace() -> str:
    return f"ci-{uuid.uuid4().hex[:12]}:"


@pytest_asyncio.fixture
async def store(redis_cluster: RedisEndpoint) -> AsyncIterator[RedisStore]:
    async with RedisStore(redis_cluster.url, namespace=unique_namespace()) as s:
        yield s


def cluster_client(store: RedisStore) -> RedisCluster:
    client = store.client
    assert isinstance(client, RedisCluster)
    return client


async def scan_every_primary(store: RedisStore, pattern: str) -> list[list[bytes]]:
    """Raw keys matching ``pattern`` on each primary, behind the store's back."""
    found = []
    for node in cluster_client(store).get_primaries():
        cursor, keys = 0, set()
        while True:
            cursor, batch = await node.execute_command("SCAN", cursor, "MATCH", pattern, "COUNT", 1000)
            keys.update(batch)
            if int(cursor) == 0:
                break
        found.append(sorted(keys))
    return found


async def stored_keys(store: RedisStore) -> set[str]:
    """The data keys the cluster holds for ``store`` (namespace removed), by SCAN."""
    cut = len(store.namespace)
    return {raw.decode()[cut:] for node in await scan_every_primary(store, store.namespace + "*") for raw in node}


async def check_index(store: RedisStore, expected: dict[str, set[str]]) -> None:
    """Each directory's index holds exactly the keys in it, each scored by its key's own expiry; and only
    tagged directories have an index at all."""
    client, ns = cluster_client(store), store.namespace
    index_keys = {raw for node in await scan_every_primary(store, INDEX_PREFIX + ns + "*") for raw in node}
    directories = {raw.decode()[len(INDEX_PREFIX + ns) :] for raw in index_keys}
    assert all(hash_tag_end(ns + folder) is not None for folder in directories), directories
    held = await stored_keys(store)
    for folder, keys in expected.items():
        assert {k for k in held if k.startswith(folder)} == keys, folder  # the data itself, to start with
        entries = await client.zrange(INDEX_PREFIX + ns + folder, 0, -1, withscores=True)
        assert {member.decode() for member, _ in entries} == keys, folder
        for member, score in entries:
            deadline = await client.pexpiretime(ns + member.decode())
            assert abs(deadline - score) <= 5, (member, deadline, score)  # the index moved with the ttl


def in_folder(keys: list[str], folder: str) -> set[str]:
    return {k for k in keys if k.startswith(folder)}


@pytest.mark.asyncio
async def test_capabilities_say_how_directories_are_listed(
    redis_cluster: RedisEndpoint, redis_server: RedisEndpoint
) -> None:
    cases = [
        (redis_cluster.url, {}, "hash_tagged"),
        (redis_cluster.url, {"directory_index": False}, "scan"),
        (redis_server.url, {}, "indexed"),
        (redis_server.url, {"directory_index": False}, "scan"),
    ]
    for url, options, listing in cases:
        async with RedisStore(url, namespace=unique_namespace(), **options) as s:
            assert s.capabilities.directory_listing == listing, (url, options)
            assert s.keys_examined == 0
    async with RedisStore(redis_cluster.url, namespace=unique_namespace(), directory_index=False) as plain:
        await plain.mset([(f"s/{{c}}/{i}", b"v", 30) for i in range(5)])
        assert sorted(await plain.keys("s/{c}/")) == [f"s/{{c}}/{i}" for i in range(5)]
        assert plain.keys_examined >= 3 * SCAN_COUNT  # a SCAN of every primary
        assert await scan_every_primary(plain, INDEX_PREFIX + plain.namespace + "*") == [[], [], []]


@pytest.mark.asyncio
async def test_listing_a_tagged_directory_examines_its_entries_not_the_store(store: RedisStore) -> None:
    unrelated = [f"u{i}" for i in range(3000)] + [f"s/{{other-{i % 300}}}/x{i}" for i in range(1500)]
    unrelated += ["s/{call}x/1", "s/{call", "s/call/1", "{call}/1", "s/{}/{call}/1"]  # look-alikes, not in it
    mine = [f"s/{{call}}/s{i}" for i in range(30)] + ["s/{call}/deep/1"]
    for start in range(0, len(unrelated), 1000):
        await store.mset([(k, b"v", 60) for k in unrelated[start : start + 1000]])
    await store.mset([(k, b"v", 60) for k in mine])
    assert all(len(node) > 1000 for node in await scan_every_primary(store, store.namespace + "*"))

    before = store.keys_examined
    assert sorted(await store.keys("s/{call}/")) == sorted(mine)
    assert store.keys_examined - before == len(mine)  # that directory's sorted set, nothing else
    before = store.keys_examined
    assert sorted(await store.keys("s/{call}/s1")) == sorted(k for k in mine if k.startswith("s/{call}/s1"))
    assert store.keys_examined - before == len(mine)  # a longer prefix filters the directory's members
    assert await store.keys("s/{call}/deep/") == ["s/{call}/deep/1"]
    before = store.keys_examined
    assert await store.keys("s/{nobody}/") == []
    assert store.keys_examined == before

    before = store.keys_examined
    assert sorted(await store.keys("s/{call")) == sorted([*mine, "s/{call}x/1", "s/{call"])  # no complete tag: SCAN
    examined = store.keys_examined - before
    assert examined >= 3 * SCAN_COUNT and examined % SCAN_COUNT == 0  # COUNT per SCAN call, on every primary
    await store.delete([*unrelated, *mine])
    assert await stored_keys(store) == set()
    assert await scan_every_primary(store, INDEX_PREFIX + store.namespace + "*") == [[], [], []]


@pytest.mark.asyncio
async def test_items_of_a_tagged_directory_is_one_script_on_its_node(
    store: RedisStore, redis_round_trips: SendCounter
) -> None:
    """The directory's keys share its index key's slot: one script there reads both; others list by SCAN."""
    mine = {f"s/{{call}}/s{i}": f"v{i}".encode() for i in range(6)}
    await store.mset([(key, value, 60) for key, value in mine.items()] + [("s/{other}/x", b"o", 60), ("u/1", b"u", 60)])
    await store.items("s/{warm}/")  # loads the script on that node
    sends, examined = redis_round_trips.sends, store.keys_examined
    assert sorted(await store.items("s/{call}/")) == sorted(mine.items())
    assert redis_round_trips.sends - sends == 1
    assert store.keys_examined - examined == len(mine)
    assert await store.items("s/{call}/s2") == [("s/{call}/s2", b"v2")]
    before = store.keys_examined
    assert await store.items("u/") == [("u/1", b"u")]  # no tag: keys (a SCAN of every primary) then mget
    assert store.keys_examined - before >= 3 * SCAN_COUNT
    await store.delete([*mine, "s/{other}/x", "u/1"])


@pytest.mark.asyncio
async def test_every_write_path_keeps_the_index_exact(store: RedisStore) -> None:
    a, b = "s/{a}/", "s/{b}/"
    await store.set(f"{a}1", b"v", 30)
    await store.set(f"{a}deep/2", b"v", 40)
    await store.set("s/plain/1", b"v", 30)
    await check_index(store, {a: {f"{a}1", f"{a}deep/2"}, f"{a}deep/": {f"{a}deep/2"}, b: set()})

    await store.set(f"{b}missing", b"v", 30, only_if_exists=True)  # never created, never indexed
    await store.set(f"{a}1", b"w", 90, only_if_exists=True)  # exists: the entry's score follows the new ttl
    await check_index(store, {a: {f"{a}1", f"{a}deep/2"}, b: set()})

    calls = [f"s/{{c{i}}}/" for i in range(40)]
    batch = [f"{folder}x{j}" for folder in calls for j in range(5)] + [f"plain-{i}" for i in range(50)]
    await store.mset([(k, b"m", 30 + i % 7) for i, k in enumerate(batch)])
    assert len({key_slot((store.namespace + k).encode()) for k in batch}) > 40
    await check_index(store, {folder: in_folder(batch, folder) for folder in calls})

    wanted = [f"{a}1", f"{b}gone", "plain-1", "plain-none", f"{calls[3]}x0", f"{calls[3]}none", f"{a}deep/2"]
    assert await store.touch(wanted, 120) == [f"{b}gone", "plain-none", f"{calls[3]}none"]
    await store.expire(f"{calls[4]}x1", f"{calls[4]}absent", "absent", ttl=200)
    assert await store.get(f"{calls[4]}absent") is None
    await check_index(store, {a: {f"{a}1", f"{a}deep/2"}, b: set(), calls[3]: in_folder(batch, calls[3])})
    await check_index(store, {calls[4]: in_folder(batch, calls[4])})

    await store.delete([f"{a}1", f"{calls[5]}x2", "plain-2", "never", f"{calls[6]}never"])
    expected = {a: {f"{a}deep/2"}, calls[5]: in_folder(batch, calls[5]) - {f"{calls[5]}x2"}}
    await check_index(store, {**expected, calls[6]: in_folder(batch, calls[6])})

    assert await store.add(f"{b}added", b"1", 30) is True
    assert await store.add(f"{b}added", b"2", 30) is False
    current = await store.get_versioned(f"{b}added")
    assert current is not None
    assert await store.cas(f"{b}added", b"3", 300, version=current.version) is not None
    assert await store.cas(f"{b}added", b"4", 30, version=current.version) is None  # stale: nothing moves
    await check_index(store, {b: {f"{b}added"}})
    latest = await store.get_versioned(f"{b}added")
    assert latest is not None and latest.value == b"3"
    assert await store.delete_if(f"{b}added", current.version) is False
    await check_index(store, {b: {f"{b}added"}})
    assert await store.delete_if(f"{b}added", latest.version) is True
    await check_index(store, {b: set()})


@pytest.mark.asyncio
async def test_expired_members_are_pruned_and_counted_when_listed(store: RedisStore) -> None:
    folder = "s/{short}/"
    await store.mset(
        [(f"{folder}gone{i}", b"v", 0.2) for i in range(10)] + [(f"{folder}kept{i}", b"v", 30) for i in range(5)]
    )
    await store.mset([(f"{folder}moved", b"v", 0.2), (f"{folder}shortened", b"v", 30)])
    await store.touch([f"{folder}moved"], 30)  # a longer ttl moves the entry out of the pruning
    await store.set(f"{folder}shortened", b"v", 0.2)  # a shorter one moves it in
    await asyncio.sleep(0.3)
    before = store.keys_examined
    live = sorted([*(f"{folder}kept{i}" for i in range(5)), f"{folder}moved"])
    assert sorted(await store.keys(folder)) == live
    assert store.keys_examined - before == 11 + len(live)  # pruned entries were examined too
    assert await cluster_client(store).zcard(INDEX_PREFIX + store.namespace + folder) == len(live)
    before = store.keys_examined
    assert sorted(await store.keys(folder)) == live
    assert store.keys_examined - before == len(live)


@pytest.mark.asyncio
async def test_batches_with_tagged_keys_are_one_round_trip_per_node(
    store: RedisStore, redis_round_trips: SendCounter
) -> None:
    calls = [f"s/{{rt{i}}}/" for i in range(40)]
    keys = [f"{folder}{j}" for folder in calls for j in range(5)] + [f"plain-{i}" for i in range(100)]
    for warm_up in (  # loads every script on every primary and opens a connection to each
        lambda: store.mset([(k, b"v", 30) for k in keys]),
        lambda: store.touch(keys, 30),
        lambda: store.delete(keys),
        lambda: store.set(f"{calls[0]}0", b"v", 30),
        lambda: store.keys(calls[0]),
    ):
        await warm_up()
    batches: list[Any] = [
        lambda: store.mset([(k, b"w", 30) for k in keys]),
        lambda: store.touch([*keys, f"{calls[1]}missing"], 30),
        lambda: store.expire(*keys, ttl=40),
        lambda: store.delete(keys),
    ]
    for batch in batches:
        sends = redis_round_trips.sends
        await batch()
        assert redis_round_trips.sends - sends == 3  # one pipeline per primary: 40 slot groups and plain keys
    one_call = [(f"{calls[2]}{j}", b"v", 30.0) for j in range(50)]
    for single in (
        lambda: store.mset(one_call),
        lambda: store.keys(calls[2]),
        lambda: store.set(f"{calls[2]}x", b"v", 30),
    ):
        sends = redis_round_trips.sends
        await single()
        assert redis_round_trips.sends - sends == 1  # one slot: one script call
    assert len(await store.keys(calls[2])) == 51


@pytest.mark.asyncio
async def test_flushed_scripts_are_loaded_again(store: RedisStore) -> None:
    folder = "s/{flush}/"
    await store.mset([(f"{folder}{i}", b"v", 30) for i in range(3)])
    await cluster_client(store).script_flush()  # every primary forgets the store's scripts
    await store.mset([(f"{folder}{i}", b"v", 30) for i in range(3, 6)] + [("plain", b"v", 30)])
    assert await store.touch([f"{folder}0", f"{folder}9"], 60) == [f"{folder}9"]
    await store.delete([f"{folder}1"])
    await check_index(store, {folder: {f"{folder}{i}" for i in (0, 2, 3, 4, 5)}})


@pytest.mark.asyncio
async def test_a_cluster_that_refuses_scripts_scans_and_says_so(redis_cluster: RedisEndpoint) -> None:
    user, password = f"noscript-{uuid.uuid4().hex[:6]}", uuid.uuid4().hex
    async with RedisStore(redis_cluster.url, namespace=unique_namespace()) as admin:
        nodes = cluster_client(admin).get_nodes()
        for node in nodes:
            await node.execute_command("ACL", "SETUSER", user, "on", f">{password}", "~*", "&*", "+@all", "-@scripting")
        try:
            url = redis_cluster.url.replace("redis+cluster://", f"redis+cluster://{user}:{password}@", 1)
            async with RedisStore(url, namespace=unique_namespace()) as store:
                assert store.capabilities.directory_listing == "scan"  # found out at start
                folder = "s/{refused}/"
                await store.mset([(f"{folder}{i}", b"v", 30) for i in range(3)])
                await store.set(f"{folder}3", b"v", 30)
                assert await store.touch([f"{folder}0", f"{folder}9"], 30) == [f"{folder}9"]
                await store.delete([f"{folder}1"])
                before = store.keys_examined
                assert sorted(await store.keys(folder)) == [f"{folder}{i}" for i in (0, 2, 3)]
                assert store.keys_examined - before >= 3 * SCAN_COUNT
                assert await scan_every_primary(store, INDEX_PREFIX + store.namespace + "*") == [[], [], []]
                await store.delete(await store.keys(""))
        finally:
            for node in nodes:
                await node.execute_command("ACL", "DELUSER", user)


@pytest.mark.asyncio
async def test_registry_lookup_on_a_cluster_costs_the_call(store: RedisStore) -> None:
    async with SessionRegistry(store, node_id="node-a", ttl=30) as registry:
        for i in range(200):
            await registry.register(f"other-{i % 50}", f"o{i}")
        for i in range(6):
            await registry.register("the-call", f"mine-{i}")
        await registry.remove("the-call", "mine-5")
        assert await registry.request_close("the-call", "mine-4") is True  # c/{the-call}/mine-4, same slot
        assert await registry.close_requested([("the-call", "mine-4"), ("the-call", "mine-3")]) == [
            ("the-call", "mine-4")
        ]
        before = store.keys_examined
        found = await registry.get_for_call("the-call")
        assert sorted(info.session_id for info in found) == [f"mine-{i}" for i in range(5)]
        assert store.keys_examined - before == 5
        assert len(await registry.list_sessions()) == 205
