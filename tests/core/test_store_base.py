"""What the conformance suite cannot see: the base class's shared validation and memory:// specifics.

The contract itself is certified on memory:// by tests/conformance/test_memory_conformance.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from sessionkv import SessionKVStore, StoreCapabilities, ValueTooLargeError, adapt, open_store
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
        assert list(store._data.items) == ["kept"]


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


class Published:
    """A store written against the published interface only: imports nothing of sessionkv."""

    def __init__(self) -> None:
        self.calls: list[tuple[object, ...]] = []
        self.started = 0

    async def start(self) -> None:
        self.started += 1

    async def close(self) -> None:
        self.started -= 1

    async def set(self, key: str, value: bytes, ttl: float, *, only_if_exists: bool = False) -> None:
        self.calls.append(("set", key, value, ttl))

    async def mset(self, items: list[tuple[str, bytes, float]]) -> None:
        self.calls.append(("mset", *items))

    async def get(self, key: str) -> bytes | None:
        return None

    async def mget(self, keys: list[str]) -> list[bytes | None]:
        self.calls.append(("mget", *keys))
        return [None] * len(keys)

    async def expire(self, *keys: str, ttl: float) -> None:
        self.calls.append(("expire", keys, ttl))

    async def keys(self, prefix: str) -> list[str]:
        return ["a", "a", "b"]

    async def delete(self, keys: list[str]) -> None:
        self.calls.append(("delete", *keys))


async def test_adapted_published_store_gets_the_shared_validation() -> None:
    inner = Published()
    async with adapt(inner) as store:
        assert inner.started == 1
        with pytest.raises(ValueError):
            await store.set("k", b"v", -1)
        await store.set("k", bytearray(b"v"), 5)
        await store.mset([("m", b"1", 1), ("m", b"2", 2)])
        await store.expire("x", "x", ttl=3)
        await store.delete([])
        assert await store.keys("") == ["a", "b"]
        assert await store.mget(["a", "a"]) == [None, None]  # read once, answered twice
        assert await store.touch(["t"], 1) == ["t"]  # the default touch: mget, then expire of the live ones
    assert inner.started == 0
    assert inner.calls == [
        ("set", "k", b"v", 5.0),
        ("mset", ("m", b"2", 2.0)),
        ("expire", ("x",), 3.0),
        ("mget", "a"),
        ("mget", "t"),
    ]


class PublishedWithItems(Published):
    """A published-interface store with its own ``items`` (one pass, which the adapter uses)."""

    async def items(self, prefix: str) -> list[tuple[str, bytes]]:
        self.calls.append(("items", prefix))
        return [("a", b"1"), ("a", b"1"), ("b", b"")]


class PublishedMapping(Published):
    """A published-interface store that is also a mapping: its plain ``items()`` means something else."""

    def items(self) -> list[tuple[str, str]]:  # not a listing: never called by the adapter
        raise AssertionError("the adapter called a mapping's items()")


async def test_adapt_uses_a_strangers_own_items_and_else_the_default() -> None:
    own = PublishedWithItems()
    async with adapt(own) as store:
        assert await store.items("p/") == [("a", b"1"), ("b", b"")]  # each key once
        assert store.implements["items"] is True
    assert own.calls == [("items", "p/")]
    mapping = PublishedMapping()
    async with adapt(mapping) as store:
        assert await store.items("") == []  # the default: keys, then mget (this stranger holds nothing)
        assert store.implements["items"] is False
    assert mapping.calls == [("mget", "a", "b")]


async def test_items_default_is_keys_then_mget_of_the_live_ones(store: SessionKVStore) -> None:
    await store.mset([("d/a", b"1", 30), ("d/b", b"", 30), ("e", b"2", 30)])
    assert sorted(await store.items("d/")) == [("d/a", b"1"), ("d/b", b"")]
    with pytest.raises(TypeError):
        await store.items(None)  # type: ignore[arg-type]


async def test_adapt_names_what_a_non_store_lacks() -> None:
    with pytest.raises(TypeError, match="lacks start, close, set, mset, get, mget, expire, keys, delete"):
        adapt(object())
    assert adapt(store := MemoryStore()) is store


async def test_adapt_reads_capabilities_from_a_plain_mapping() -> None:
    inner = Published()
    inner.capabilities = {"min_ttl": 1.0, "ttl_resolution": 1.0}  # type: ignore[attr-defined]
    assert adapt(inner).capabilities == StoreCapabilities(min_ttl=1.0, ttl_resolution=1.0)
    inner.capabilities = {"min_tll": 1.0}  # type: ignore[attr-defined]
    with pytest.raises(TypeError, match=r"unknown field.*min_tll"):
        adapt(inner)


async def test_subclass_redefining_a_public_method_is_refused_with_the_fix() -> None:
    with pytest.raises(TypeError, match=r"defines set, keys: .* implement _set, _keys instead"):

        class Wrong(MemoryStore):
            async def set(self, key: str, value: bytes, ttl: float, *, only_if_exists: bool = False) -> None:
                """Overrides what it should not."""

            async def keys(self, prefix: str = "") -> list[str]:
                return []


async def test_mixin_methods_and_super_calls_validate_once() -> None:
    """A method from a mixin is still behind the public check; super()._set does not re-validate."""
    seen: list[float] = []

    class TTLSpy:
        async def _set(self, key: str, value: bytes, ttl: float, *, only_if_exists: bool) -> None:
            seen.append(ttl)
            await super()._set(key, value, ttl, only_if_exists=only_if_exists)  # type: ignore[misc]

    class Spied(TTLSpy, MemoryStore):
        pass

    async with Spied() as store:
        with pytest.raises(ValueError, match="ttl"):
            await store.set("k", b"v", 0)
        await store.set("k", b"v", 1)
        assert seen == [1.0]
        assert await store.get("k") == b"v"


async def test_shared_store_stays_open_until_its_last_user_closes() -> None:
    store = MemoryStore(cleanup_interval=0.01)
    await store.start()
    await store.start()
    await store.close()
    assert store.started
    await store.close()
    assert not store.started
    await store.close()  # an extra close does nothing
    assert not store.started


async def test_a_method_patched_after_class_creation_is_still_behind_the_checks() -> None:
    seen: list[object] = []

    class Patched(MemoryStore):
        pass

    async def patched_set(self: MemoryStore, key: str, value: bytes, ttl: float, *, only_if_exists: bool) -> None:
        seen.append(value)

    Patched._set = patched_set  # type: ignore[method-assign]
    async with Patched() as store:
        with pytest.raises(TypeError, match="values must be bytes"):
            await store.set("k", "not bytes", 1)  # type: ignore[arg-type]
        await store.set("k", bytearray(b"v"), 1)
    assert seen == [b"v"]  # checked and converted before the patched code ran


async def test_a_public_method_with_a_new_keyword_names_the_method_to_implement() -> None:
    with pytest.raises(TypeError, match=r"defines keys: .* implement _keys instead"):

        class WithLimit(MemoryStore):
            async def keys(self, prefix: str = "", *, limit: int = 10) -> list[str]:  # type: ignore[override]
                return []
