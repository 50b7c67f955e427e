"""tiered(redis, postgresql) under faults, on real servers this test owns.

- the hot tier flushed or restarted empty: nothing is lost, reads warm it again;
- the hot tier frozen (SIGSTOP): every call is answered by the durable tier (a call that hung would hit
  ``HANG``), one warning for the whole outage, the frozen server's stale copies are deleted before the
  hot tier is used again, and a second outage is a second warning;
- the durable tier stopped: every write raises ``StoreError`` and the hot tier holds nothing the durable
  tier lacks;
- one writer and several readers through one tiered store, with the hot tier flushed twice meanwhile: no
  reader ever sees a value older than one it already saw.
No timing assertions: ``HANG`` only turns a hang into a failure; waits poll a state with a generous bound.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import redis.asyncio as aioredis

from servers.ladder import Endpoint
from servers.postgres_process import postgres_url
from servers.process import ServerProcess
from servers.redis import RedisEndpoint
from sessionkv import StoreError, TieredStore, tiered
from sessionkv_postgres.store import PostgresStore
from sessionkv_redis.store import RedisStore

pytestmark = pytest.mark.asyncio

HOT_TIMEOUT = 0.3
#: A call must end within the hot timeout plus the durable call; beyond this it hung.
HANG = 10.0


def namespace() -> str:
    return f"tiered-{uuid.uuid4().hex[:10]}:"


def hot_on(server: ServerProcess, ns: str) -> RedisStore:
    return RedisStore(f"redis://127.0.0.1:{server.port}/0?retries=0", namespace=ns)


async def until_up(store: TieredStore) -> None:
    """Wait (polling, bounded) until the hot tier is used again."""
    for _ in range(200):
        if not store.degraded:
            return
        await asyncio.sleep(0.05)
    pytest.fail("the hot tier answers again but the tiered store did not go back to it")


def tier_warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "sessionkv.tiered" and r.levelno == logging.WARNING]


async def test_hot_tier_restarted_empty_or_flushed_loses_nothing(
    redis_process: Callable[..., ServerProcess], postgres_server: Endpoint
) -> None:
    server = redis_process()
    ns = namespace()
    hot = hot_on(server, ns)
    items = [(f"k/{i}", f"v{i}".encode(), 60.0) for i in range(40)]
    keys, values = [k for k, _, _ in items], [v for _, v, _ in items]
    store = tiered(hot, PostgresStore(postgres_server.url, namespace=ns), retry_interval=0.1)
    async with store:
        await store.mset(items)
        await store.set("single", b"s", 60)
        assert await hot.mget([*keys, "single"]) == [*values, b"s"], "writes did not go through to the hot tier"

        server.restart()  # no persistence: the hot tier comes back empty
        assert await asyncio.wait_for(store.mget(keys), HANG) == values
        assert await asyncio.wait_for(store.get("single"), HANG) == b"s"
        await until_up(store)
        assert await store.mget(keys) == values
        assert await store.get("single") == b"s"
        assert await hot.mget([*keys, "single"]) == [*values, b"s"], "reads did not warm the restarted hot tier"

        async with aioredis.Redis(port=server.port) as client:
            await client.flushall()
        assert await store.mget(keys) == values
        assert await store.get("single") == b"s"
        assert await hot.get("single") == b"s", "a read after the flush did not warm the hot tier"
        assert sorted(await store.keys("")) == sorted([*keys, "single"])
        await store.delete([*keys, "single"])


async def test_hot_tier_frozen_every_call_served_by_durable_logged_once_then_used_again(
    redis_process: Callable[..., ServerProcess], postgres_server: Endpoint, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="sessionkv.tiered")
    server = redis_process()
    assert server.pid is not None
    ns = namespace()
    hot = hot_on(server, ns)
    store = tiered(hot, PostgresStore(postgres_server.url, namespace=ns), hot_timeout=HOT_TIMEOUT, retry_interval=0.2)
    async with store:
        await store.set("k", b"old", 60)
        await store.set("gone", b"x", 60)
        version = await store.cas("doc", b"d1", 60, version=None)
        os.kill(server.pid, signal.SIGSTOP)
        try:
            calls: list[Callable[[], Awaitable[Any]]] = []
            for i in range(10):
                calls += [
                    lambda i=i: store.set("k", f"new{i}".encode(), 60),
                    lambda: store.get("k"),
                    lambda i=i: store.mset([(f"m{i}", b"m", 60), ("k", f"new{i}".encode(), 60)]),
                    lambda: store.mget(["k", "m0", "missing"]),
                    lambda: store.touch(["k", "missing"], 60),
                    lambda: store.expire("k", ttl=60),
                    lambda: store.keys(""),
                ]
            results = [await asyncio.wait_for(call(), HANG) for call in calls]
            assert results[1] == b"new0" and results[-4] == [b"new9", b"m", None]
            assert await store.get("k") == b"new9"
            await store.delete(["gone"])
            assert await store.get("gone") is None
            assert version is not None
            assert await store.cas("doc", b"d2", 60, version=version) is not None
            assert await store.get("doc") == b"d2"
            assert store.degraded and store.outages == 1
            assert len(tier_warnings(caplog)) == 1, "a hot-tier outage must be logged once, not per call"
        finally:
            os.kill(server.pid, signal.SIGCONT)
        await until_up(store)
        # the frozen server still held "old", "x" and "d1": deleted before the hot tier was used again
        assert await store.get("k") == b"new9"
        assert await store.get("gone") is None
        assert await store.get("doc") == b"d2"
        assert await hot.get("gone") is None
        await store.set("after", b"a", 60)
        assert await hot.get("after") == b"a", "the hot tier was not used again once back"
        assert any("answers again" in r.getMessage() for r in caplog.records if r.name == "sessionkv.tiered")

        os.kill(server.pid, signal.SIGSTOP)
        try:
            assert await asyncio.wait_for(store.get("after"), HANG) == b"a"
            await asyncio.wait_for(store.set("after", b"b", 60), HANG)
        finally:
            os.kill(server.pid, signal.SIGCONT)
        assert store.outages == 2 and len(tier_warnings(caplog)) == 2, "each outage is logged once"
        await until_up(store)
        assert await store.get("after") == b"b"
        await store.delete(sorted(await store.keys("")))


async def test_durable_tier_down_writes_fail_and_hot_holds_nothing_durable_lacks(
    postgres_process: Callable[..., Any], redis_server: RedisEndpoint
) -> None:
    pg = postgres_process()
    ns = namespace()
    url = postgres_url(pg, create_table="true", command_timeout="0.5", connect_timeout="0.5")
    durable = PostgresStore(url, namespace=ns)
    hot = RedisStore(redis_server.url, namespace=ns)
    async with hot, tiered(hot, durable) as store:
        await store.set("k", b"v1", 60)
        current = await store.get_versioned("k")
        assert current is not None
        pg.stop()
        writes: list[Callable[[], Awaitable[Any]]] = [
            lambda: store.set("k", b"v2", 60),
            lambda: store.set("k", b"v2", 60, only_if_exists=True),
            lambda: store.mset([("k", b"v3", 60), ("new", b"n", 60)]),
            lambda: store.add("added", b"a", 60),
            lambda: store.cas("k", b"v4", 60, version=current.version),
            lambda: store.cas("fresh", b"f", 60, version=None),
            lambda: store.delete(["k"]),
            lambda: store.delete_if("k", current.version),
            lambda: store.expire("k", ttl=1),
        ]
        for write in writes:
            with pytest.raises(StoreError):
                await asyncio.wait_for(write(), HANG)
            assert await hot.get("k") in (None, b"v1"), "the hot tier holds a value the durable tier never took"
            assert await hot.mget(["new", "added", "fresh"]) == [None, None, None]
        pg.start()
        assert await asyncio.wait_for(store.get("k"), HANG) == b"v1"
        assert await store.keys("") == ["k"]
        await store.set("k", b"v5", 60)
        assert await store.get("k") == b"v5" and await hot.get("k") == b"v5"
        await store.delete(["k"])


async def test_no_reader_sees_an_older_value_than_one_it_saw(
    redis_process: Callable[..., ServerProcess], postgres_server: Endpoint
) -> None:
    server = redis_process()
    ns = namespace()
    store = tiered(hot_on(server, ns), PostgresStore(postgres_server.url, namespace=ns), retry_interval=0.1)
    writes = 150
    regressions: list[tuple[str, int, int]] = []
    done = asyncio.Event()

    async def writer() -> None:
        async with aioredis.Redis(port=server.port) as client:
            for n in range(1, writes + 1):
                await store.set("counter", str(n).encode(), 60)
                await store.mset([("a", str(n).encode(), 60), ("b", str(n).encode(), 60)])
                if n in (40, 100):
                    await client.flushall()  # readers now miss and warm from the durable tier
        done.set()

    async def reader(name: str) -> int:
        seen = {"counter": 0, "a": 0, "b": 0}
        reads = 0
        while not done.is_set():
            got = [await store.get("counter"), *await store.mget(["a", "b"])]
            reads += 1
            for key, value in zip(("counter", "a", "b"), got, strict=True):
                number = int(value) if value is not None else 0
                if number < seen[key]:
                    regressions.append((f"{name}:{key}", seen[key], number))
                seen[key] = max(seen[key], number)
        return reads

    async with store:
        results = await asyncio.gather(writer(), *(reader(f"r{i}") for i in range(4)))
        assert all(reads > 0 for reads in results[1:])
        assert not regressions, f"a reader saw a value older than one it had seen: {regressions[:5]}"
        assert await store.get("counter") == str(writes).encode()
        await store.delete(["counter", "a", "b"])
