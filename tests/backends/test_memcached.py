"""MemcachedStore on a real memcached: URLs, exptime rounding, key encoding, one round trip per call,
directory listing cost and pruning, checked against what the server holds."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable

import pytest
import pytest_asyncio
from wire_spies import Pipelines, record_pipelines

from servers.ladder import Endpoint
from servers.memcached_process import memcached_url
from servers.process import ServerProcess
from sessionkv import StoreError, ValueTooLargeError, open_store
from sessionkv_memcached.keyspace import INDEX_SHARDS, MAX_SERVER_KEY
from sessionkv_memcached.protocol import Meta, Pipeline
from sessionkv_memcached.store import MemcachedStore

pytestmark = pytest.mark.asyncio
StartMemcached = Callable[..., ServerProcess]


def unique_namespace(tag: str = "t") -> str:
    return f"{tag}-{uuid.uuid4().hex[:12]}:"


@pytest_asyncio.fixture
async def store(memcached_server: Endpoint) -> AsyncIterator[MemcachedStore]:
    async with MemcachedStore(memcached_server.url, namespace=unique_namespace()) as s:
        yield s


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> Pipelines:
    return record_pipelines(monkeypatch)


async def raw_meta(store: MemcachedStore, key: bytes, flags: bytes = b"") -> object:
    """One ``mg`` sent behind the store's back (on its own pool)."""

    async def work(conn: object) -> object:
        pipe = Pipeline()
        pipe.meta_get(key, flags)
        return (await pipe.run(conn))[0]  # type: ignore[arg-type]

    return await store._run("probe", work)  # type: ignore[arg-type]


# -- URLs and options ------------------------------------------------------------------------------


async def test_opened_through_the_plugin_with_options(memcached_server: Endpoint) -> None:
    url = f"{memcached_server.url}?pool_size=2&timeout=3&connect_timeout=1"
    async with open_store(url, namespace=unique_namespace()) as s:
        assert isinstance(s, MemcachedStore)
        assert (s.config.pool_size, s.config.timeout, s.config.connect_timeout) == (2, 3.0, 1.0)
        assert s.capabilities.min_ttl == 1.0 and s.capabilities.ttl_resolution == 2.0
        await s.set("k", b"v", 5)
        assert await s.get("k") == b"v"


async def test_not_started_and_unreachable() -> None:
    from servers.process import free_port

    store = MemcachedStore(f"memcached://127.0.0.1:{free_port()}?timeout=1&connect_timeout=0.5")
    with pytest.raises(StoreError, match="connect"):
        await store.start()
    assert not store.started
    with pytest.raises(StoreError, match="not started"):
        await store.get("k")


# -- ttl -> exptime --------------------------------------------------------------------------------


async def test_server_holds_the_exptimes_we_mean(store: MemcachedStore) -> None:
    await store.set("short", b"v", 1.2)
    await store.set("year", b"v", 365 * 86400)
    remaining = await raw_meta(store, store._space.data("short"), b"t")
    assert remaining.int_flag(b"t") in (2, 3)  # type: ignore[attr-defined]
    remaining = await raw_meta(store, store._space.data("year"), b"t")
    assert abs(remaining.int_flag(b"t") - 365 * 86400) <= 3  # type: ignore[attr-defined]


# -- keys ------------------------------------------------------------------------------------------


async def test_any_key_round_trips_and_lists(store: MemcachedStore) -> None:
    keys = ["sessión/✓ space", "line\nbreak", "é" * 2000, "a//b", "a/", "nul\x00"]
    await store.mset([(key, key.encode()[:10], 30) for key in keys])
    assert await store.mget(keys) == [key.encode()[:10] for key in keys]
    assert sorted(await store.keys("")) == sorted(keys)
    assert sorted(await store.keys("a/")) == ["a/", "a//b"]
    assert sorted(await store.keys("a")) == ["a/", "a//b"]


async def test_namespace_with_odd_characters(memcached_server: Endpoint) -> None:
    async with MemcachedStore(memcached_server.url, namespace=f"ns with spaces é {uuid.uuid4()}:") as s:
        await s.set("k", b"v", 5)
        assert await s.keys("") == ["k"]


async def test_only_if_exists_is_replace_and_never_creates(store: MemcachedStore, spy: Pipelines) -> None:
    await store.set("absent", b"x", 10, only_if_exists=True)
    assert spy.commands.count(b"replace") == 1 and b"set" not in spy.commands
    assert await store.get("absent") is None and await store.keys("") == []
    await store.set("live", b"1", 10)
    await store.set("live", b"2", 10, only_if_exists=True)
    assert await store.get("live") == b"2"


# -- one round trip per call -----------------------------------------------------------------------


async def test_batches_are_one_pipeline(store: MemcachedStore, spy: Pipelines) -> None:
    items = [(f"d/k{i}", b"v%d" % i, 30) for i in range(100)]
    await store.mset(items)  # first write creates the index items: a second round trip
    spy.runs, spy.commands = 0, []
    await store.mset(items)
    assert spy.runs == 1 and spy.commands.count(b"set") == 100
    spy.runs, spy.commands = 0, []
    keys = [key for key, _, _ in items]
    assert await store.mget(keys + keys[:3]) == [v for _, v, _ in items] + [v for _, v, _ in items[:3]]
    assert spy.runs == 1 and spy.commands == [b"get"]
    spy.runs, spy.commands = 0, []
    await store.expire(*keys, ttl=60)
    # the keys now outlive their index items: each of those (8 shards of d/, one of the root) is re-timed in
    # the same pipeline, once (``mg T``, an empty append for a new cas, ``mg T``: test_memcached_retime.py);
    # the same ttl again needs none (they got slack)
    assert spy.runs == 1 and spy.commands == [b"touch"] * 100 + [b"mg", b"ms", b"mg"] * 9
    spy.runs, spy.commands = 0, []
    await store.expire(*keys, ttl=60)
    assert spy.runs == 1 and spy.commands == [b"touch"] * 100
    spy.runs, spy.commands = 0, []
    await store.delete(keys)
    assert spy.runs == 1 and spy.commands == [b"delete"] * 100


async def test_touch_reports_missing_in_one_pipeline_once_epochs_are_known(
    store: MemcachedStore, spy: Pipelines
) -> None:
    await store.mset([("t/a", b"1", 30), ("t/b", b"2", 30)])
    assert await store.touch(["t/a", "t/b", "t/gone"], 30) == ["t/gone"]
    spy.runs = 0
    assert await store.touch(["t/a", "t/b", "t/gone"], 30) == ["t/gone"]
    assert spy.runs == 1


# -- listing ---------------------------------------------------------------------------------------


async def test_listing_a_directory_costs_its_entries_not_the_cache(store: MemcachedStore, spy: Pipelines) -> None:
    await store.mset([(f"other/{i}/x", b"v", 30) for i in range(300)])
    await store.mset([("s/call/a", b"1", 30), ("s/call/b", b"2", 30), ("s/callx/c", b"3", 30)])
    spy.commands = []
    assert sorted(await store.keys("s/call/")) == ["s/call/a", "s/call/b"]
    assert spy.commands.count(b"mg") == INDEX_SHARDS + 2  # the directory's shards, then each entry
    spy.commands = []
    assert sorted(await store.keys("s/call")) == ["s/call/a", "s/call/b", "s/callx/c"]
    assert spy.commands.count(b"mg") == 3 * INDEX_SHARDS + 3  # "s/", then "s/call/" and "s/callx/"


async def test_dead_entries_are_pruned_and_empty_items_deleted(store: MemcachedStore) -> None:
    await store.mset([("p/gone", b"1", 1), ("p/kept", b"2", 30)])
    await store.delete(["p/kept"])
    await asyncio.sleep(2.1)  # "p/gone" has expired
    assert await store.keys("") == []
    assert await store.keys("") == []
    shards = [store._space.shard(directory, shard) for directory in ("", "p/") for shard in range(INDEX_SHARDS)]
    assert [await raw_meta(store, key) for key in shards] == [Meta(b"EN")] * len(shards)


async def test_value_limit_comes_from_the_server(memcached_process: StartMemcached) -> None:
    server = memcached_process("-I", "256k", "-o", "slab_chunk_max=131072")
    async with MemcachedStore(memcached_url(server), namespace=unique_namespace()) as s:
        limit = s.capabilities.max_value_size
        assert limit is not None and 200_000 < limit < 256 * 1024
        longest = "x" * (MAX_SERVER_KEY - len(s._space.prefix) - 2)
        assert len(s._space.data(longest)) == MAX_SERVER_KEY
        await s.set(longest, b"a" * limit, 10)  # longest server key, biggest value
        with pytest.raises(ValueTooLargeError):
            await s.set("big", b"a" * (limit + 1), 10)
        assert await s.keys("") == [longest]
