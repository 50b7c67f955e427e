"""Coalesced ``get``/``set`` on a real memcached: the calls of one loop tick share one pipeline, outcomes stay per call.

On an idle store the first call of a tick leaves at once, alone (a lone call costs what it did before);
the calls after it in the same tick leave together as one pipeline: two pipelines for any number of calls.

Costs are counted: pipelines (round trips) and the commands in them by a spy on ``Pipeline.run``,
and what the server did by its own ``stats`` counters (``cmd_get``, ``cmd_set``, ``total_connections``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from wire_spies import Pipelines, record_pipelines

from servers.ladder import Endpoint
from sessionkv import StoreError
from sessionkv_memcached.keyspace import INDEX_SHARDS
from sessionkv_memcached.protocol import Pipeline
from sessionkv_memcached.store import MemcachedStore

pytestmark = pytest.mark.asyncio
TASKS = 64


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> Pipelines:
    return record_pipelines(monkeypatch)


@pytest_asyncio.fixture(params=[1, 4], ids=["pool1", "pool4"])
async def store(memcached_server: Endpoint, request: pytest.FixtureRequest) -> AsyncIterator[MemcachedStore]:
    namespace = f"co-{uuid.uuid4().hex[:12]}:"
    async with MemcachedStore(memcached_server.url, namespace=namespace, pool_size=request.param) as s:
        yield s


async def server_stats(store: MemcachedStore) -> dict[bytes, int]:
    """The server's general counters, read behind the store's back (on its pool)."""

    async def work(conn: object) -> object:
        pipe = Pipeline()
        pipe.stats()
        return (await pipe.run(conn))[0]  # type: ignore[arg-type]

    stats = await store._run("stats", work)
    assert isinstance(stats, dict)
    return {name: int(value) for name, value in stats.items() if value.isdigit()}


async def test_concurrent_gets_leave_as_one_pipeline(store: MemcachedStore, spy: Pipelines) -> None:
    await store.mset([(f"g/k{i}", b"v%d" % i, 30) for i in range(TASKS)])
    before = await server_stats(store)
    spy.reset()
    found = await asyncio.gather(*(store.get(f"g/k{i}") for i in [*range(TASKS), 3]))
    assert found == [b"v%d" % i for i in [*range(TASKS), 3]]
    assert spy.runs == 2 and spy.commands == [b"get", b"get"]  # the first alone, then one line for the others
    after = await server_stats(store)
    assert after[b"cmd_get"] - before[b"cmd_get"] == TASKS  # each distinct key fetched once
    assert after[b"get_hits"] - before[b"get_hits"] == TASKS


async def test_concurrent_sets_leave_as_one_pipeline_with_merged_index_appends(
    store: MemcachedStore, spy: Pipelines
) -> None:
    await store.mset([(f"s/k{i}", b"0", 30) for i in range(TASKS)])  # creates every index item of s/ and the root
    before = await server_stats(store)
    spy.reset()
    await asyncio.gather(*(store.set(f"s/k{i}", b"v%d" % i, 30) for i in range(TASKS)))
    runs, commands = spy.runs, list(spy.commands)
    after = await server_stats(store)
    assert commands.count(b"set") == TASKS
    # the appends are merged: per pipeline at most one per shard of s/ and one for the root's entry of s
    assert 0 < commands.count(b"ms") <= 2 + INDEX_SHARDS + 1
    assert runs == 2 and len(commands) == TASKS + commands.count(b"ms")  # two writes, nothing else
    assert after[b"cmd_set"] - before[b"cmd_set"] == TASKS + commands.count(b"ms")
    assert sorted(await store.keys("s/")) == sorted(f"s/k{i}" for i in range(TASKS))
    assert await store.mget([f"s/k{i}" for i in range(TASKS)]) == [b"v%d" % i for i in range(TASKS)]


async def test_a_server_error_on_one_set_fails_only_that_call(store: MemcachedStore, spy: Pipelines) -> None:
    await store.mset([(f"e/{k}", b"0", 30) for k in ("a", "big", "c")])  # their index items exist
    # let a value past memcached's item size through our own check: the server refuses it with SERVER_ERROR
    store.capabilities = dataclasses.replace(store.capabilities, max_value_size=8 * 1024 * 1024)
    before = await server_stats(store)
    spy.reset()
    outcomes = await asyncio.gather(
        store.set("e/a", b"a", 30),
        store.set("e/big", b"x" * (2 * 1024 * 1024), 30),
        store.set("e/c", b"c", 30),
        return_exceptions=True,
    )
    assert spy.runs == 2 and spy.commands.count(b"set") == 3  # e/a alone, then e/big and e/c together
    assert outcomes[0] is None and outcomes[2] is None
    error = outcomes[1]
    assert isinstance(error, StoreError) and "SERVER_ERROR" in str(error) and "\n" not in str(error)
    after = await server_stats(store)
    assert after[b"total_connections"] == before[b"total_connections"]  # the stream stayed in step: no reconnect
    # memcached drops the old value of a set it refuses: nothing stale is left to read or list
    assert await store.mget(["e/a", "e/big", "e/c"]) == [b"a", None, b"c"]
    assert sorted(await store.keys("e/")) == ["e/a", "e/c"]
    before = await server_stats(store)
    with pytest.raises(StoreError, match="SERVER_ERROR"):
        await store.set("e/big", b"x" * (2 * 1024 * 1024), 30)  # alone: the same, on its own connection
    await store.set("e/a", b"a2", 30)
    assert (await server_stats(store))[b"total_connections"] == before[b"total_connections"]


async def test_a_refused_replace_in_a_batch_is_no_error_and_touches_nobody(
    store: MemcachedStore, spy: Pipelines
) -> None:
    await store.mset([(f"r/{k}", b"0", 30) for k in ("there", "absent", "new")])  # their index items exist
    await store.delete(["r/absent", "r/new"])
    spy.reset()
    await asyncio.gather(
        store.set("r/there", b"1", 30, only_if_exists=True),
        store.set("r/absent", b"1", 30, only_if_exists=True),
        store.set("r/new", b"1", 30),
    )
    assert spy.runs == 2 and spy.commands.count(b"replace") == 2 and spy.commands.count(b"set") == 1
    assert await store.mget(["r/there", "r/absent", "r/new"]) == [b"1", None, b"1"]
    assert sorted(await store.keys("r/")) == ["r/new", "r/there"]


async def test_a_call_cancelled_before_its_pipeline_is_left_out(store: MemcachedStore, spy: Pipelines) -> None:
    keys = [f"c/k{i}" for i in range(4)]
    await store.mset([(key, b"0", 30) for key in keys])  # their index items exist
    await store.delete(keys)
    spy.reset()
    calls = [asyncio.ensure_future(store.set(key, b"v", 30)) for key in keys]
    await asyncio.sleep(0)  # c/k0 went alone; the others queued, to leave together on the next callback round
    calls[2].cancel()
    outcomes = await asyncio.gather(*calls, return_exceptions=True)
    assert isinstance(outcomes[2], asyncio.CancelledError) and [outcomes[i] for i in (0, 1, 3)] == [None] * 3
    assert spy.runs == 2 and spy.commands.count(b"set") == 3
    assert await store.mget(keys) == [b"v", b"v", None, b"v"]


async def test_a_call_cancelled_in_flight_leaves_its_neighbours_and_the_connection(
    store: MemcachedStore, spy: Pipelines
) -> None:
    await store.mset([(f"f/k{i}", b"v%d" % i, 30) for i in range(3)])
    before = await server_stats(store)
    spy.reset()
    calls = [asyncio.ensure_future(store.get(f"f/k{i}")) for i in range(3)]
    await spy.second.wait()  # f/k0 alone, then f/k1 and f/k2 in one pipeline, written, replies not read yet
    calls[1].cancel()
    outcomes = await asyncio.gather(*calls, return_exceptions=True)
    assert isinstance(outcomes[1], asyncio.CancelledError) and [outcomes[0], outcomes[2]] == [b"v0", b"v2"]
    assert spy.runs == 2
    after = await server_stats(store)
    # a cancelled call of its own would drop its connection (``lease``): the shared pipeline was not interrupted
    assert after[b"total_connections"] == before[b"total_connections"]
    assert await store.get("f/k1") == b"v1"
