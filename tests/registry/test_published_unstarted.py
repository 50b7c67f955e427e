"""The published ``RedisSessionKVStore`` works before ``start()``, as published (its client connects lazily).

Published test suites build a store in a fixture, use it (often only to clean up) and never start it;
sessionkv's stores otherwise raise ``StoreNotStartedError`` until ``start()``.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
import redis.asyncio as redis

from servers.ladder import Endpoint
from sessionkv.compat import RedisSessionKVStore, SessionRegistry

pytestmark = pytest.mark.asyncio


def prefix() -> str:
    return f"unstarted-{time.time_ns()}:"


@pytest_asyncio.fixture
async def client(redis_server: Endpoint) -> AsyncIterator[redis.Redis]:
    """The application's own client, as the published docs pass it (``client=``)."""
    own = redis.Redis.from_url(redis_server.url)
    yield own
    await own.aclose()


async def test_a_client_store_works_before_start_and_after_the_registry_stops(client: redis.Redis) -> None:
    store = RedisSessionKVStore(client=client, key_prefix=prefix())
    assert not store.started
    await store.set("k", b"v", 10)  # never started
    assert await store.get("k") == b"v"
    assert await store.mget(["k", "missing"]) == [b"v", None]
    await store.expire("k", ttl=20)
    assert await store.keys("") == ["k"]
    async with SessionRegistry(store=store, node_id="n1") as registry:
        await registry.register("call", "s1")
        assert [i.session_id for i in await registry.get_for_call("call")] == ["s1"]
    assert not store.started
    leftovers = await store.keys("")  # the published fixtures' cleanup, on a store nobody started
    assert leftovers == ["k"]  # the registry removed its own records when it stopped
    await store.delete(leftovers)
    assert await store.keys("") == []
    assert await client.ping()  # the caller's client is still the caller's: open


async def test_a_url_store_builds_its_client_on_first_use_and_start_replaces_it(redis_server: Endpoint) -> None:
    store = RedisSessionKVStore(url=redis_server.url, key_prefix=prefix())
    await store.set("k", b"v", 10)
    lazy = store.client
    assert await store.get("k") == b"v" and store.client is lazy
    await store.start()
    try:
        assert store.client is not lazy and await store.get("k") == b"v"
        assert not any(c.is_connected for c in lazy.connection_pool._available_connections)  # closed by start
    finally:
        await store.delete(["k"])
        await store.close()
