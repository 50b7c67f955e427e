"""Code written against the published session-registry API runs on sessionkv with only its imports changed.

Everything below uses the published names, signatures and lifecycle only (the Vision Agents
"Horizontal Scaling" design): the only sessionkv-specific line is the import.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import pytest
import pytest_asyncio
import redis.asyncio as redis

from servers.ladder import Endpoint
from sessionkv.compat import (
    InMemorySessionKVStore,
    RedisSessionKVStore,
    SessionInfo,
    SessionKVStore,
    SessionRegistry,
)

pytestmark = pytest.mark.asyncio


class DictSessionKVStore(SessionKVStore):
    """A custom backend exactly as the published docs tell users to write one (no sessionkv import)."""

    def __init__(self) -> None:
        self.data: dict[str, tuple[bytes, float]] = {}
        self.started = 0
        self.closed = 0

    async def start(self) -> None:
        self.started += 1

    async def close(self) -> None:
        self.closed += 1

    async def set(self, key: str, value: bytes, ttl: float, *, only_if_exists: bool = False) -> None:
        if only_if_exists and await self.get(key) is None:
            return
        self.data[key] = (value, time.monotonic() + ttl)

    async def mset(self, items: list[tuple[str, bytes, float]]) -> None:
        for key, value, ttl in items:
            await self.set(key, value, ttl)

    async def get(self, key: str) -> bytes | None:
        entry = self.data.get(key)
        return entry[0] if entry is not None and entry[1] > time.monotonic() else None

    async def mget(self, keys: list[str]) -> list[bytes | None]:
        return [await self.get(key) for key in keys]

    async def expire(self, *keys: str, ttl: float) -> None:
        for key in keys:
            value = await self.get(key)
            if value is not None:
                self.data[key] = (value, time.monotonic() + ttl)

    async def keys(self, prefix: str) -> list[str]:
        now = time.monotonic()
        return [key for key, (_, deadline) in self.data.items() if key.startswith(prefix) and deadline > now]

    async def delete(self, keys: list[str]) -> None:
        for key in keys:
            self.data.pop(key, None)


@dataclass
class Metrics:
    """A metrics object as the published API passes them: anything with ``to_dict()``."""

    latency_ms: float
    turns: int

    def to_dict(self) -> dict[str, float | int]:
        return {"latency_ms": self.latency_ms, "turns": self.turns}


@pytest_asyncio.fixture(params=["memory", "redis", "custom"])
async def make_store(request: pytest.FixtureRequest) -> AsyncIterator[Callable[[], SessionKVStore]]:
    """Builds the published stores: one shared store per test (several registries may use it)."""
    if request.param == "memory":
        shared = InMemorySessionKVStore(cleanup_interval=60.0)
        yield lambda: shared
    elif request.param == "custom":
        custom = DictSessionKVStore()
        yield lambda: custom
    else:
        endpoint: Endpoint = request.getfixturevalue("redis_server")
        prefix = f"published-{time.time_ns()}:"
        yield lambda: RedisSessionKVStore(url=endpoint.url, key_prefix=prefix)


async def test_quick_start_lifecycle(make_store: Callable[[], SessionKVStore]) -> None:
    store = make_store()
    registry = SessionRegistry(store=store)
    await registry.start()
    try:
        assert isinstance(registry.node_id, str) and registry.node_id
        await registry.register("call-1", "s1")
        await registry.register("call-1", "s2")
        info = await registry.get("call-1", "s1")
        assert info is not None
        assert (info.session_id, info.call_id, info.node_id) == ("s1", "call-1", registry.node_id)
        assert info.started_at <= time.time() and info.metrics_updated_at is not None
        assert sorted(i.session_id for i in await registry.get_for_call("call-1")) == ["s1", "s2"]
        await registry.update_metrics("call-1", "s1", Metrics(latency_ms=12.5, turns=3))
        updated = await registry.get("call-1", "s1")
        assert updated is not None and updated.metrics == {"latency_ms": 12.5, "turns": 3}
        await registry.refresh({"s1": "call-1", "s2": "call-1"})
        assert await registry.get_close_requests({"s1": "call-1", "s2": "call-1"}) == []
        await registry.request_close("call-1", "s2")
        assert await registry.get_close_requests({"s1": "call-1", "s2": "call-1"}) == ["s2"]
        await registry.remove("call-1", "s2")
        assert await registry.get("call-1", "s2") is None
        assert await registry.get_close_requests({"s2": "call-1"}) == []
    finally:
        await registry.stop()


async def test_two_registries_share_one_store_and_see_each_other(make_store: Callable[[], SessionKVStore]) -> None:
    store = make_store()
    async with SessionRegistry(store=store, node_id="a") as a, SessionRegistry(store=store, node_id="b") as b:
        await a.register("call", "from-a")
        await b.stop()  # one registry stopping must not close the store under the other
        await a.register("call", "still-works")
        assert sorted(i.session_id for i in await a.get_for_call("call")) == ["from-a", "still-works"]


async def test_registry_without_start_starts_itself() -> None:
    registry = SessionRegistry()
    await registry.register("c", "s")
    assert (await registry.get("c", "s")) is not None
    await registry.stop()


async def test_custom_store_is_started_and_closed_by_the_registry() -> None:
    store = DictSessionKVStore()
    registry = SessionRegistry(store=store, ttl=30.0)
    await registry.start()
    assert store.started == 1
    await registry.register("c", "s")
    assert any(key.endswith("s") for key in store.data)
    await registry.stop()
    assert store.closed == 1


async def test_session_info_dict_round_trip_ignores_unknown_keys() -> None:
    info = SessionInfo(session_id="s", call_id="c", node_id="n", started_at=1.0, metrics_updated_at=2.0)
    data = info.to_dict()
    assert SessionInfo.from_dict({**data, "added_in_a_later_version": True}) == info
    missing = dict(data)
    del missing["node_id"]
    with pytest.raises(TypeError, match="node_id"):
        SessionInfo.from_dict(missing)


async def test_redis_store_takes_exactly_one_of_client_and_url(redis_server: Endpoint) -> None:
    with pytest.raises(ValueError, match="either"):
        RedisSessionKVStore()
    client = redis.Redis.from_url(redis_server.url)
    with pytest.raises(ValueError, match="either"):
        RedisSessionKVStore(client=client, url=redis_server.url)
    store = RedisSessionKVStore(client=client, key_prefix=f"borrowed-{time.time_ns()}:")
    async with SessionRegistry(store=store) as registry:
        await registry.register("c", "s")
        assert await client.keys(f"{store.namespace}*") != []
    assert await client.ping()  # the caller's client is not closed by the store or the registry
    await client.aclose()


async def test_in_memory_store_rejects_a_bad_cleanup_interval() -> None:
    with pytest.raises(ValueError, match="cleanup_interval"):
        InMemorySessionKVStore(cleanup_interval=0)


async def test_every_sessionkv_store_is_a_published_store() -> None:
    assert isinstance(InMemorySessionKVStore(), SessionKVStore)
