"""The store contract on memory://, including every bad-input case, checked directly."""

from __future__ import annotations

import asyncio
import math
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


async def test_set_get_roundtrip_and_bytes_like(store: SessionKVStore) -> None:
    await store.set("a", b"1", 10)
    await store.set("b", bytearray(b"2"), 10)
    await store.set("c", memoryview(b"3"), 10)
    await store.set("empty", b"", 10)
    assert await store.mget(["a", "b", "c", "empty"]) == [b"1", b"2", b"3", b""]
    assert type(await store.get("b")) is bytes


async def test_ttl_expiry_from_get_mget_keys(store: SessionKVStore) -> None:
    await store.set("short", b"x", 0.05)
    await store.set("long", b"y", 10)
    assert await store.get("short") == b"x"
    await asyncio.sleep(0.08)
    assert await store.get("short") is None
    assert await store.mget(["short", "long"]) == [None, b"y"]
    assert await store.keys("") == ["long"]


async def test_tiny_ttl_rounds_up_not_to_forever(store: SessionKVStore) -> None:
    await store.set("tiny", b"x", 1e-9)
    await asyncio.sleep(0.01)
    assert await store.get("tiny") is None


@pytest.mark.parametrize(
    ("ttl", "error"),
    [
        (0, ValueError),
        (-1, ValueError),
        (math.nan, ValueError),
        (math.inf, ValueError),
        (-math.inf, ValueError),
        ("10", TypeError),
        (None, TypeError),
        (True, TypeError),
        (b"1", TypeError),
    ],
)
async def test_bad_ttl_rejected_and_nothing_written(store: SessionKVStore, ttl: object, error: type) -> None:
    await store.set("k", b"old", 10)
    with pytest.raises(error):
        await store.set("k", b"new", ttl)  # type: ignore[arg-type]
    with pytest.raises(error):
        await store.set("fresh", b"new", ttl)  # type: ignore[arg-type]
    with pytest.raises(error):
        await store.mset([("k2", b"v", 10), ("k", b"new", ttl)])  # type: ignore[list-item]
    with pytest.raises(error):
        await store.expire("k", ttl=ttl)  # type: ignore[arg-type]
    assert await store.mget(["k", "fresh", "k2"]) == [b"old", None, None]


@pytest.mark.parametrize(
    ("key", "error"),
    [("", ValueError), (b"k", TypeError), (1, TypeError), (None, TypeError), ("bad\ud800", ValueError)],
)
async def test_bad_keys_rejected(store: SessionKVStore, key: object, error: type) -> None:
    with pytest.raises(error):
        await store.set(key, b"v", 10)  # type: ignore[arg-type]
    with pytest.raises(error):
        await store.get(key)  # type: ignore[arg-type]
    with pytest.raises(error):
        await store.mget(["ok", key])  # type: ignore[list-item]
    with pytest.raises(error):
        await store.delete([key])  # type: ignore[list-item]
    with pytest.raises(error):
        await store.expire("ok", key, ttl=1)  # type: ignore[arg-type]
    assert await store.keys("") == []


@pytest.mark.parametrize("value", ["text", 1, None, [b"x"]])
async def test_bad_values_rejected(store: SessionKVStore, value: object) -> None:
    with pytest.raises(TypeError, match="bytes"):
        await store.set("k", value, 10)  # type: ignore[arg-type]
    assert await store.get("k") is None


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


async def test_only_if_exists_matrix(store: SessionKVStore) -> None:
    await store.set("missing", b"x", 10, only_if_exists=True)
    assert await store.get("missing") is None
    await store.set("expired", b"x", 0.02)
    await asyncio.sleep(0.04)
    await store.set("expired", b"y", 10, only_if_exists=True)
    assert await store.get("expired") is None
    await store.set("present", b"x", 10)
    await store.set("present", b"y", 0.03, only_if_exists=True)
    assert await store.get("present") == b"y"
    await asyncio.sleep(0.05)
    assert await store.get("present") is None, "the update must replace the ttl too"


async def test_mset_mget_order_repeats_and_empty(store: SessionKVStore) -> None:
    await store.mset([])
    assert await store.mget([]) == []
    await store.mset([("a", b"1", 10), ("b", b"2", 10), ("a", b"3", 10)])
    assert await store.mget(["b", "missing", "a", "b"]) == [b"2", None, b"3", b"2"]


async def test_expire_refreshes_only_live_keys(store: SessionKVStore) -> None:
    await store.set("live", b"x", 0.05)
    await store.set("dying", b"x", 0.01)
    await asyncio.sleep(0.02)
    await store.expire("live", "live", "dying", "missing", ttl=10)
    await asyncio.sleep(0.05)
    assert await store.mget(["live", "dying", "missing"]) == [b"x", None, None]
    await store.expire(ttl=1)  # no keys: nothing to do


async def test_touch_reports_missing_keys(store: SessionKVStore) -> None:
    await store.set("a", b"x", 0.05)
    missing = await store.touch(["a", "b", "a"], 10)
    assert missing == ["b"]
    await asyncio.sleep(0.06)
    assert await store.get("a") == b"x"
    assert await store.get("b") is None


async def test_keys_prefix_is_literal_and_bounded(store: SessionKVStore) -> None:
    names = ["s/a/1", "s/ab/x", "s/a*", "s/[a]", "s/%", "s/é/1", "t/a/1"]
    await store.mset([(n, b"v", 10) for n in names])
    assert sorted(await store.keys("s/a/")) == ["s/a/1"]
    assert await store.keys("s/a*") == ["s/a*"]
    assert await store.keys("s/[") == ["s/[a]"]
    assert await store.keys("s/%") == ["s/%"]
    assert await store.keys("s/é") == ["s/é/1"]
    assert sorted(await store.keys("")) == sorted(names)


async def test_delete_ignores_missing_and_empty(store: SessionKVStore) -> None:
    await store.mset([("a", b"1", 10), ("b", b"2", 10)])
    await store.delete([])
    await store.delete(["a", "missing", "a"])
    assert await store.mget(["a", "b"]) == [None, b"2"]


async def test_long_and_odd_keys(store: SessionKVStore) -> None:
    odd = ["é" * 600, "with space", "new\nline", "emoji 🎉", "x" * 5000]
    await store.mset([(k, k.encode(), 10) for k in odd])
    assert await store.mget(odd) == [k.encode() for k in odd]
    assert sorted(await store.keys("")) == sorted(odd)


async def test_year_long_ttl(store: SessionKVStore) -> None:
    await store.set("year", b"x", 365 * 86400)
    await store.set("month", b"x", 31 * 86400)
    assert await store.mget(["year", "month"]) == [b"x", b"x"]


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
