"""MemcachedStore's versioned writes: versions are the server's cas uniques, add/cas file keys in the directory
index, delete_if is memcached's atomic ``md C<cas>``, and a get_versioned/cas counter loses nothing from 2 processes
x 8 tasks."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import pytest_asyncio
from contended_counter import count_from_processes
from wire_spies import Pipelines, record_pipelines

from servers.ladder import Endpoint
from servers.memcached_process import memcached_url
from servers.process import ServerProcess
from sessionkv import UnsupportedOperationError
from sessionkv_memcached.protocol import Meta, Pipeline
from sessionkv_memcached.store import MemcachedStore

PROCESSES, TASKS, INCREMENTS = 2, 8, 10


def unique_namespace() -> str:
    return f"v-{uuid.uuid4().hex[:12]}:"


@pytest_asyncio.fixture
async def store(memcached_server: Endpoint) -> AsyncIterator[MemcachedStore]:
    async with MemcachedStore(memcached_server.url, namespace=unique_namespace()) as opened:
        yield opened


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> Pipelines:
    return record_pipelines(monkeypatch)


async def raw_meta(store: MemcachedStore, key: str, flags: bytes) -> Meta:
    """``mg <data item of key> <flags>`` sent behind the store's back."""

    async def work(conn: Any) -> object:
        pipe = Pipeline()
        pipe.meta_get(store._space.data(key), flags)
        return (await pipe.run(conn))[0]

    reply = await store._run("probe", work)
    assert isinstance(reply, Meta)
    return reply


@pytest.mark.asyncio
async def test_versions_are_the_cas_uniques_the_server_holds(store: MemcachedStore) -> None:
    assert await store.add("k", b"1", 30) is True
    first = await store.get_versioned("k")
    assert first is not None and first.version == (await raw_meta(store, "k", b"c")).int_flag(b"c")
    await store.expire("k", ttl=60)
    await store.touch(["k"], 60)
    kept = await store.get_versioned("k")
    assert kept is not None and kept.version == first.version, "touch changed the cas unique"
    second = await store.cas("k", b"2", 30, version=first.version)
    assert isinstance(second, int) and second != first.version
    assert (await raw_meta(store, "k", b"c")).int_flag(b"c") == second
    await store.set("k", b"2", 30)
    third = await store.get_versioned("k")
    assert third is not None and third.version not in (first.version, second)


@pytest.mark.asyncio
async def test_add_and_cas_send_our_exptime(store: MemcachedStore) -> None:
    await store.add("added", b"v", 1.2)
    await store.cas("cased", b"v", 1.2, version=None)
    for key in ("added", "cased"):
        assert (await raw_meta(store, key, b"t")).int_flag(b"t") in (2, 3), f"{key}: exptime is not ceil(ttl) + 1"
    current = await store.get_versioned("cased")
    assert current is not None
    await store.cas("cased", b"w", 365 * 86400, version=current.version)
    remaining = (await raw_meta(store, "cased", b"t")).int_flag(b"t")
    assert remaining is not None and abs(remaining - 365 * 86400) <= 3


@pytest.mark.asyncio
async def test_add_and_cas_file_keys_and_delete_if_unfiles(store: MemcachedStore) -> None:
    assert await store.add("d/added", b"1", 30)
    created = await store.cas("d/sub/cased", b"1", 30, version=None)
    assert created is not None
    assert sorted(await store.keys("")) == ["d/added", "d/sub/cased"]
    updated = await store.cas("d/sub/cased", b"2", 30, version=created)
    assert updated is not None
    assert sorted(await store.keys("d/")) == ["d/added", "d/sub/cased"]
    found = await store.get_versioned("d/added")
    assert found is not None and await store.delete_if("d/added", found.version)
    assert await store.keys("d/") == ["d/sub/cased"]
    assert await store.delete_if("d/sub/cased", updated)
    assert await store.keys("") == []


@pytest.mark.asyncio
async def test_refused_writes_list_nothing(store: MemcachedStore) -> None:
    written = await store.cas("gone", b"1", 30, version=None)
    assert written is not None
    await store.delete(["gone"])
    assert await store.cas("gone", b"2", 30, version=written) is None
    assert await store.keys("") == []
    await store.set("live", b"1", 30)
    assert await store.add("live", b"2", 30) is False
    assert await store.keys("") == ["live"] and await store.get("live") == b"1"


@pytest.mark.asyncio
@pytest.mark.parametrize("foreign", [0, -3, 2**64, True, "7", 7.0, ("x",), b"7"])
async def test_a_version_memcached_cannot_hold_matches_nothing_and_is_never_sent(
    store: MemcachedStore, spy: Pipelines, foreign: Any
) -> None:
    await store.set("k", b"v", 30)
    spy.reset()
    assert await store.cas("k", b"w", 30, version=foreign) is None
    assert await store.cas("absent", b"w", 30, version=foreign) is None, "a foreign version created a key"
    assert await store.delete_if("k", foreign) is False
    assert spy.runs == 0
    assert await store.mget(["k", "absent"]) == [b"v", None]


@pytest.mark.asyncio
async def test_each_operation_is_one_round_trip(store: MemcachedStore, spy: Pipelines) -> None:
    await store.set("s/k", b"0", 30)  # creates the index items
    spy.reset()
    current = await store.get_versioned("s/k")
    assert current is not None and (spy.runs, spy.commands) == (1, [b"mg"])
    spy.reset()
    assert await store.cas("s/k", b"1", 30, version=current.version) is not None
    assert spy.runs == 1 and spy.commands[0] == b"ms" and len(spy.commands) == 3  # the item, then 2 index appends
    spy.reset()
    assert await store.cas("s/k", b"stale", 30, version=current.version) is None
    assert spy.runs == 1, "a refused cas made a second round trip"
    spy.reset()
    assert await store.add("s/k", b"x", 30) is False and spy.runs == 1
    latest = await store.get_versioned("s/k")
    assert latest is not None
    spy.reset()
    assert await store.delete_if("s/k", latest.version) is True
    assert (spy.runs, spy.commands) == (1, [b"md"])


@pytest.mark.asyncio
async def test_a_server_without_cas_refuses_clearly(memcached_process: Callable[..., ServerProcess]) -> None:
    server = memcached_process("-C")
    async with MemcachedStore(memcached_url(server), namespace=unique_namespace()) as store:
        assert await store.add("k", b"v", 30) is True, "add needs no cas uniques"
        for call in (
            lambda: store.get_versioned("k"),
            lambda: store.cas("k", b"w", 30, version=None),
            lambda: store.delete_if("k", 1),
        ):
            with pytest.raises(UnsupportedOperationError, match="-C"):
                await call()
        assert await store.get("k") == b"v"


@pytest.mark.asyncio
async def test_counter_from_two_processes_loses_no_increment(memcached_server: Endpoint) -> None:
    urls = [memcached_server.url] * PROCESSES
    await count_from_processes(urls, unique_namespace(), tasks=TASKS, increments=INCREMENTS)
