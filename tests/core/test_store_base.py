"""What the conformance suite cannot see: the base class's shared validation and memory:// specifics.

The contract itself is certified on memory:// by tests/conformance/test_memory_conformance.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from sessionkv import SessionKVStore, StoreCapabilities, ValueTooLargeError, open_store
from sessionkv_memory import MemoryStore

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def store() -> AsyncIterator[SessionKVStore]:
    async with open_store("memory://") as s:
        yield s


async def test_bare_string_where_a_list_is_expected_is_refused(store: SessionKVStore) -> None:
    await store.set("a", b"1", 10)
    with pytest.raises(TypeError, match="list"):
        await store.delete("a")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="list"):
        await store.mget("a")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        await store.mset([("a", b"2")])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        await store.keys(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        await store.set("a", b"2", 10, only_if_exists="yes")  # type: ignore[arg-type]
    assert await store.get("a") == b"1"


async def test_namespaces_do_not_see_each_other() -> None:
    async with (
        open_store("memory://shared-ns?namespace=app1:") as one,
        open_store("memory://shared-ns?namespace=app2:") as two,
    ):
        await one.set("k", b"1", 10)
        await two.set("k", b"2", 10)
        await two.set("only2", b"2", 10)
        assert await one.keys("") == ["k"]
        assert sorted(await two.keys("")) == ["k", "only2"]
        assert (await one.get("k"), await two.get("k")) == (b"1", b"2")


async def test_named_memory_store_is_shared_in_process() -> None:
    async with open_store("memory://room") as a, open_store("memory://room") as b, open_store("memory://other") as c:
        await a.set("k", b"v", 10)
        assert await b.get("k") == b"v"
        assert await c.get("k") is None


async def test_sweeper_removes_expired_entries() -> None:
    store = MemoryStore(cleanup_interval=0.02)
    async with store:
        await store.set("gone", b"x", 0.01)
        await store.set("kept", b"x", 10)
        await asyncio.sleep(0.08)
        assert list(store._data.items) == ["sessionkv:kept"]


async def test_value_over_declared_maximum_is_refused_and_nothing_written() -> None:
    class Small(MemoryStore):
        capabilities = StoreCapabilities(max_value_size=4)

    async with Small() as store:
        await store.set("k", b"1234", 10)
        with pytest.raises(ValueTooLargeError, match="at most 4"):
            await store.set("k", b"12345", 10)
        with pytest.raises(ValueTooLargeError):
            await store.mset([("other", b"1", 10), ("k", b"12345", 10)])
        assert await store.mget(["k", "other"]) == [b"1234", None]


async def test_store_written_for_the_published_interface_gets_validation() -> None:
    """A backend overriding the public methods directly is still validated before its code runs."""
    calls: list[tuple[object, ...]] = []

    class Plain(SessionKVStore):
        async def set(self, key: str, value: bytes, ttl: float, *, only_if_exists: bool = False) -> None:
            calls.append((key, value, ttl))

        async def get(self, key: str) -> bytes | None:
            return None

        async def expire(self, *keys: str, ttl: float) -> None:
            calls.append((keys, ttl))

        async def keys(self, prefix: str = "") -> list[str]:
            return ["a", "a", "b"]

        async def delete(self, keys: list[str]) -> None:
            calls.append(tuple(keys))

    async with Plain() as plain:
        with pytest.raises(ValueError):
            await plain.set("k", b"v", -1)
        await plain.set("k", bytearray(b"v"), 5)
        await plain.mset([("m", b"1", 1), ("m", b"2", 2)])
        await plain.expire("x", "x", ttl=3)
        await plain.delete([])
        assert await plain.keys("") == ["a", "b"]
        assert await plain.mget(["a", "a"]) == [None, None]
    assert calls == [("k", b"v", 5.0), ("m", b"2", 2.0), (("x",), 3.0)]
