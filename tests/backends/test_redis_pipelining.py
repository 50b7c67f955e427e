"""RedisStore coalesces concurrent calls into pipelines (sessionkv_redis.pipelining), on one server and per
cluster node; each call keeps its own outcome. Proved by counting writes to the server's sockets and the
coalescer's batches, never by timing."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
import redis.asyncio as aioredis
from redis.asyncio import RedisCluster

from servers.redis import RedisEndpoint, SendCounter, command_calls
from sessionkv import SessionRegistry, StoreError
from sessionkv_redis.index import INDEX_PREFIX
from sessionkv_redis.pipelining import Pipelining
from sessionkv_redis.store import RedisStore

pytestmark = pytest.mark.asyncio

TASKS = 64
#: The call a test cancels: the last one, so never the first (lone) call of its node.
LAST = TASKS - 1


@pytest_asyncio.fixture(params=["redis", "cluster"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[RedisStore]:
    endpoint: RedisEndpoint = request.getfixturevalue("redis_server" if request.param == "redis" else "redis_cluster")
    async with RedisStore(endpoint.url, namespace=f"pl-{uuid.uuid4().hex[:12]}:") as s:
        yield s


@pytest_asyncio.fixture
async def raw(store: RedisStore) -> AsyncIterator[Any]:
    """A bare client on the store's server(s), to write what the store would refuse to."""
    if isinstance(store.client, RedisCluster):
        nodes = store.client.get_nodes()
        client: Any = RedisCluster(host=nodes[0].host, port=nodes[0].port)
        await client.initialize()
    else:
        client = aioredis.Redis(
            connection_pool=aioredis.ConnectionPool(**store.client.connection_pool.connection_kwargs)
        )
    yield client
    await client.aclose()


def primaries(store: RedisStore) -> int:
    return len(store.client.get_primaries()) if isinstance(store.client, RedisCluster) else 1


async def warm(store: RedisStore) -> None:
    """Open enough pooled connections everywhere (a connection's first use writes its handshake too)."""
    await asyncio.gather(*(store.get(f"warm/{i}") for i in range(4 * TASKS)))
    await asyncio.gather(*(store.set(f"warm/{i}", b"w", 30) for i in range(4 * TASKS)))


async def test_a_lone_call_is_one_command_and_one_round_trip(store: RedisStore, redis_round_trips: SendCounter) -> None:
    await warm(store)
    pipelining = store.pipelining
    for call in (lambda: store.set("lone", b"v", 10), lambda: store.get("lone")):
        batches, sends = pipelining.batches, redis_round_trips.sends
        await call()
        assert pipelining.batches - batches == 1
        assert redis_round_trips.sends - sends == 1


async def test_concurrent_calls_share_pipelines(store: RedisStore, redis_round_trips: SendCounter) -> None:
    await warm(store)
    keys = [f"c/{i}" for i in range(TASKS)]
    pipelining = store.pipelining
    for name, calls in (
        ("set", lambda: [store.set(key, key.encode(), 30) for key in keys]),
        ("get", lambda: [store.get(key) for key in keys]),
    ):
        batches, requests, sends = pipelining.batches, pipelining.requests, redis_round_trips.sends
        results = await asyncio.gather(*calls())
        if name == "get":
            assert results == [key.encode() for key in keys]
        if name == "get" or isinstance(store.client, RedisCluster):
            assert pipelining.requests - requests == TASKS  # (a cluster writes untagged keys with plain SETs)
        else:  # one server: the sets of a tick share one index script
            assert pipelining.requests - requests <= 1 + pipelining.max_inflight
        # the first call of each node goes alone, the rest of the tick in the next pipeline(s): at most
        # 1 + max_inflight per node, nowhere near one per call
        limit = primaries(store) * (1 + pipelining.max_inflight)
        assert pipelining.batches - batches <= limit, name
        # on the wire too (with room for a connection the pool opens meanwhile: its handshake is a write)
        assert redis_round_trips.sends - sends <= TASKS // 3, name


async def test_the_server_sees_every_command_once(redis_server: RedisEndpoint) -> None:
    async with (
        RedisStore(redis_server.url, namespace=f"pl-{uuid.uuid4().hex[:12]}:") as store,
        aioredis.Redis.from_url(redis_server.url) as raw,
    ):
        await warm(store)
        start = await command_calls(raw)
        await asyncio.gather(*(store.get(f"once/{i}") for i in range(TASKS)))
        read = await command_calls(raw)
        await asyncio.gather(*(store.set(f"once/{i}", b"v", 30) for i in range(TASKS)))
        written = await command_calls(raw)
        inflight = store.pipelining.max_inflight
    assert read["get"] - start.get("get", 0) == TASKS  # coalesced, not merged or repeated
    assert read.get("evalsha", 0) == start.get("evalsha", 0)
    # the sets: the first alone, the rest of the tick in one index script (not one script per key)
    assert written["evalsha"] - read["evalsha"] <= 1 + inflight
    assert written["set"] - read.get("set", 0) == TASKS  # every key written (inside the scripts)


async def test_a_wrongtype_key_fails_only_its_own_get(store: RedisStore, raw: Any) -> None:
    await asyncio.gather(*(store.set(f"w/{i}", b"ok", 30) for i in range(TASKS)))
    await raw.delete(store.namespace + "w/7")
    await raw.rpush(store.namespace + "w/7", b"a list")  # w/7 now holds a list: GET answers WRONGTYPE
    batches = store.pipelining.batches
    results = await asyncio.gather(*(store.get(f"w/{i}") for i in range(TASKS)), return_exceptions=True)
    assert store.pipelining.batches - batches < TASKS // 4  # they did share pipelines
    assert isinstance(results[7], StoreError) and "WRONGTYPE" in str(results[7])
    assert [r for i, r in enumerate(results) if i != 7] == [b"ok"] * (TASKS - 1)


async def test_a_script_error_fails_only_its_own_set(store: RedisStore, raw: Any) -> None:
    # the directory index of bad{x}/ is a string: the set script's ZADD into it fails, for that key only
    await raw.set(INDEX_PREFIX + store.namespace + "bad{x}/", b"not a sorted set")
    keys = [f"s{{x}}/{i}" for i in range(TASKS - 1)]
    batches = store.pipelining.batches
    results = await asyncio.gather(
        *(store.set(key, b"v", 30) for key in keys[:30]),
        store.set("bad{x}/k", b"v", 30),
        *(store.set(key, b"v", 30) for key in keys[30:]),
        return_exceptions=True,
    )
    assert store.pipelining.batches - batches < TASKS // 4
    assert isinstance(results[30], StoreError) and "WRONGTYPE" in str(results[30])
    assert [r for i, r in enumerate(results) if i != 30] == [None] * (TASKS - 1)
    assert await store.mget(keys) == [b"v"] * (TASKS - 1)
    assert sorted(await store.keys("s{x}/")) == sorted(keys)  # the neighbours' index entries were written


async def test_a_cancelled_queued_call_leaves_its_neighbours_alone(store: RedisStore) -> None:
    await asyncio.gather(*(store.set(f"q/{i}", b"v", 30) for i in range(TASKS)))
    requests = store.pipelining.requests
    tasks = [asyncio.ensure_future(store.get(f"q/{i}")) for i in range(TASKS)]
    await asyncio.sleep(0)  # every task has queued its call (the first of each node went alone)
    tasks[LAST].cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert isinstance(results[LAST], asyncio.CancelledError)
    assert results[:LAST] == [b"v"] * LAST
    assert store.pipelining.requests - requests == TASKS - 1  # left out of its pipeline before it went


def hold_pipelines(monkeypatch: pytest.MonkeyPatch) -> tuple[asyncio.Event, asyncio.Event]:
    """Pipelines of more than one command wait for ``release`` once out; ``sent`` is set when one is."""
    sent, release = asyncio.Event(), asyncio.Event()
    original = Pipelining._pipeline

    async def held(self: Pipelining, batch: list[Any], node: str) -> list[Any]:
        if len(batch) > 1:
            sent.set()
            await release.wait()  # the pipeline is out; its callers wait for it
        return await original(self, batch, node)

    monkeypatch.setattr(Pipelining, "_pipeline", held)
    return sent, release


async def test_a_call_cancelled_in_flight_leaves_its_pipeline_alone(
    store: RedisStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    await asyncio.gather(*(store.set(f"f/{i}", b"v", 30) for i in range(TASKS)))
    sent, release = hold_pipelines(monkeypatch)
    tasks = [asyncio.ensure_future(store.get(f"f/{i}")) for i in range(TASKS)]
    await sent.wait()
    tasks[LAST].cancel()
    await asyncio.sleep(0)
    release.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert isinstance(results[LAST], asyncio.CancelledError)
    assert results[:LAST] == [b"v"] * LAST


async def test_a_caller_timing_out_leaves_its_pipeline_alone(
    store: RedisStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    await asyncio.gather(*(store.set(f"t/{i}", b"v", 30) for i in range(TASKS)))
    sent, release = hold_pipelines(monkeypatch)

    async def impatient(key: str) -> bytes | None:
        async with asyncio.timeout(0.05):  # passes while its pipeline is held (released only after it)
            return await store.get(key)

    tasks = [asyncio.ensure_future(store.get(f"t/{i}")) for i in range(LAST)]
    late = asyncio.ensure_future(impatient(f"t/{LAST}"))
    await sent.wait()
    with pytest.raises(TimeoutError):
        await late
    release.set()
    assert await asyncio.gather(*tasks) == [b"v"] * LAST


async def test_a_flushed_script_cache_is_reloaded_for_a_pipeline(store: RedisStore, raw: Any) -> None:
    await store.set("warm", b"v", 30)
    if isinstance(raw, RedisCluster):
        await raw.execute_command("SCRIPT FLUSH", target_nodes=RedisCluster.PRIMARIES)
    else:
        await raw.script_flush()
    keys = [f"n{{t}}/{i}" for i in range(TASKS)]
    before = None if isinstance(raw, RedisCluster) else await command_calls(raw)
    assert await asyncio.gather(*(store.set(key, b"v", 30) for key in keys)) == [None] * TASKS
    assert sorted(await store.keys("n{t}/")) == sorted(keys)
    if before is not None:  # one server: each script loaded again once, not once per NOSCRIPT reply
        after = await command_calls(raw)
        assert 1 <= after["script|load"] - before.get("script|load", 0) <= 1 + store.pipelining.max_inflight


async def test_concurrent_get_for_call_shares_pipelines(store: RedisStore, redis_round_trips: SendCounter) -> None:
    async with SessionRegistry(store, node_id="pl-node") as registry:
        for call in range(TASKS):
            await registry.register(f"call-{call}", "s1")
        await asyncio.gather(*(registry.get_for_call(f"call-{call}") for call in range(TASKS)))  # warm
        sends = redis_round_trips.sends
        found = await asyncio.gather(*(registry.get_for_call(f"call-{call}") for call in range(TASKS)))
        assert [[info.session_id for info in infos] for infos in found] == [["s1"]] * TASKS
        assert redis_round_trips.sends - sends <= TASKS  # two store calls each: 128 if sent one by one


async def test_a_cluster_pipeline_sent_to_the_wrong_node_follows_the_redirects(
    redis_cluster: RedisEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As after a resharding the client has not seen yet: every batch goes to one wrong node, which answers
    MOVED; those commands go again through redis-py's cluster pipeline and every call gets its own reply."""
    async with RedisStore(redis_cluster.url, namespace=f"pl-{uuid.uuid4().hex[:12]}:") as store:
        keys = [f"m/{i}" for i in range(TASKS)]
        await store.mset([(key, key.encode(), 30) for key in keys])
        client = store.client
        assert isinstance(client, RedisCluster)
        node_of = store.pipelining.node_of
        wrong = {node_of(store.namespace + key) for key in keys}
        assert len(wrong) > 1  # the keys live on several primaries
        stale = sorted(wrong)[0]
        moved: list[int] = []
        original = Pipelining._node_pipeline

        async def counting(self: Pipelining, batch: list[Any], name: str) -> list[Any]:
            moved.append(len(batch))
            return await original(self, batch, name)

        monkeypatch.setattr(Pipelining, "node_of", lambda self, key: stale)
        monkeypatch.setattr(Pipelining, "_node_pipeline", counting)
        assert await asyncio.gather(*(store.get(key) for key in keys)) == [key.encode() for key in keys]
        assert moved and max(moved) > 1  # batches did go to the one (mostly wrong) node


async def test_a_pipeline_arms_one_timer_for_all_its_replies(
    redis_server: RedisEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its replies are read under one socket-timeout timer (redis-py's own pipeline arms one per reply)."""
    async with RedisStore(redis_server.url, namespace=f"pl-{uuid.uuid4().hex[:12]}:") as store:
        keys = [f"timer/{i}" for i in range(TASKS)]
        await store.mset([(key, key.encode(), 30) for key in keys])
        await warm(store)
        loop = asyncio.get_running_loop()
        timers = 0
        original = type(loop).call_at

        def counting(self: asyncio.AbstractEventLoop, when: float, callback: Any, *args: Any, **kw: Any) -> Any:
            nonlocal timers
            timers += 1
            return original(self, when, callback, *args, **kw)

        batches, requests = store.pipelining.batches, store.pipelining.requests
        monkeypatch.setattr(type(loop), "call_at", counting)
        found = await asyncio.gather(*(store.get(key) for key in keys))
        monkeypatch.undo()
        assert found == [key.encode() for key in keys]
        sent = store.pipelining.batches - batches
        assert store.pipelining.requests - requests == TASKS and sent < TASKS  # they did share pipelines
        # per pipeline (or lone call): one for its replies, one for the pool's wait for a connection; 64+ if per reply
        assert timers <= 2 * sent


async def test_a_stalled_server_fails_a_pipeline_after_one_timeout_and_drops_its_connection(
    redis_server: RedisEndpoint,
) -> None:
    """The pipeline out while the server answers nothing fails all its calls (a redis TimeoutError, as a
    lone read raises, turned into StoreError); its connection, with replies still due on it, is dropped,
    so no later call reads a stale reply."""
    url = f"{redis_server.url}?socket_timeout=0.2&retries=0"
    async with RedisStore(url, namespace=f"pl-{uuid.uuid4().hex[:12]}:") as store:
        keys = [f"stall/{i}" for i in range(TASKS)]
        await store.mset([(key, key.encode(), 30) for key in keys])
        await warm(store)
        async with aioredis.from_url(redis_server.url) as raw:
            await raw.execute_command("CLIENT", "PAUSE", 600, "ALL")
        failed = await asyncio.gather(*(store.get(key) for key in keys), return_exceptions=True)
        assert failed and all(isinstance(error, StoreError) for error in failed), failed
        assert any("pipeline" in str(error) for error in failed)  # the coalesced ones, not only the lone call
        await asyncio.sleep(0.7)  # the pause is over; the paused replies arrive on dropped connections only
        for _ in range(3):
            assert await asyncio.gather(*(store.get(key) for key in keys)) == [key.encode() for key in keys]


class Checkouts:
    """Counts the connections a redis-py pool hands out and gets back (its public methods, wrapped)."""

    def __init__(self, pool: Any) -> None:
        self.out = self.back = 0
        get, release = pool.get_connection, pool.release

        async def counted_get(*args: Any, **kwargs: Any) -> Any:
            self.out += 1
            return await get(*args, **kwargs)

        async def counted_release(connection: Any) -> None:
            self.back += 1
            await release(connection)

        pool.get_connection, pool.release = counted_get, counted_release


async def test_calls_one_after_another_reuse_one_kept_connection(redis_server: RedisEndpoint) -> None:
    async with RedisStore(redis_server.url, namespace=f"pl-{uuid.uuid4().hex[:12]}:") as store:
        checkouts = Checkouts(store.client.connection_pool)
        for i in range(20):
            await store.set(f"one/{i}", b"v", 10)
            assert await store.get(f"one/{i}") == b"v"
        # the first call's connection stays with the store: 40 calls, at most one checkout, none handed back
        assert checkouts.out <= 1
        assert checkouts.back == 0


async def test_a_kept_connection_the_server_closed_is_replaced_before_use(redis_server: RedisEndpoint) -> None:
    name = f"kept-{uuid.uuid4().hex[:8]}"
    url = f"{redis_server.url}?retries=0&client_name={name}"  # no retry: only the check before use can save the call
    async with (
        RedisStore(url, namespace=f"pl-{uuid.uuid4().hex[:12]}:") as store,
        aioredis.Redis.from_url(redis_server.url) as admin,
    ):
        await store.set("k", b"v", 10)
        clients = [c for c in await admin.client_list() if c["name"] == name]
        assert clients, "the store's connection is not on the server"
        for client in clients:
            await admin.client_kill_filter(_id=client["id"])
        await asyncio.sleep(0.05)  # the close reaches the store's socket
        assert await store.get("k") == b"v"


async def test_closing_the_store_hands_the_kept_connection_back(redis_server: RedisEndpoint) -> None:
    async with aioredis.Redis.from_url(redis_server.url) as client:
        checkouts = Checkouts(client.connection_pool)
        async with RedisStore(client, namespace=f"pl-{uuid.uuid4().hex[:12]}:") as store:
            await asyncio.gather(*(store.set(f"back/{i}", b"v", 10) for i in range(TASKS)))
            await store.get("back/0")
            assert checkouts.out > checkouts.back  # one kept while the store is open
        assert checkouts.out == checkouts.back  # the borrowed client's pool has every connection back
        assert await client.get(f"{store.namespace}back/0") is not None  # and the client still works


async def test_a_bounded_pool_sees_every_checkout(redis_server: RedisEndpoint) -> None:
    url = f"{redis_server.url}?max_connections=2"  # a blocking pool: its limit must count every connection in use
    async with RedisStore(url, namespace=f"pl-{uuid.uuid4().hex[:12]}:") as store:
        checkouts = Checkouts(store.client.connection_pool)
        for i in range(10):
            await store.get(f"bounded/{i}")
        assert checkouts.out == checkouts.back == 10
