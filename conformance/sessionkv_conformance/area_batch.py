"""Batch operations: mset/mget order, repeats, empty inputs and 1000-key batches."""

from __future__ import annotations

from sessionkv import SessionKVStore

from .runner import area

BIG = 1000  # above common per-request limits (25, 100, 128, 999)


@area("batch ops")
class BatchTests:
    """mset/mget/delete/expire/touch on empty, repeated and large batches."""

    async def test_mget_keeps_order_with_repeated_and_missing_keys(self, store: SessionKVStore) -> None:
        await store.mset([("a", b"A", 3600), ("b", b"B", 3600), ("c", b"C", 3600)])
        keys = ["c", "missing", "a", "c", "b", "a", "nope", "b"]
        expected = [b"C", None, b"A", b"C", b"B", b"A", None, b"B"]
        assert await store.mget(keys) == expected
        assert await store.mget(list(reversed(keys))) == list(reversed(expected))
        assert await store.mget(["missing"]) == [None]
        assert await store.mget(["b"]) == [b"B"]

    async def test_empty_batches_do_nothing(self, store: SessionKVStore) -> None:
        await store.set("kept", b"1", 3600)
        await store.mset([])
        assert await store.mget([]) == []
        await store.delete([])
        await store.expire(ttl=10)
        assert await store.touch([], 10) == []
        assert await store.keys("") == ["kept"]
        assert await store.get("kept") == b"1"

    async def test_mset_repeated_key_last_wins(self, store: SessionKVStore) -> None:
        await store.mset([("k", b"first", 3600), ("other", b"o", 3600), ("k", b"second", 3600), ("k", b"last", 3600)])
        assert await store.get("k") == b"last"
        assert sorted(await store.keys("")) == ["k", "other"]

    async def test_mset_overwrites_existing_values(self, store: SessionKVStore) -> None:
        await store.mset([("a", b"1", 3600), ("b", b"2", 3600)])
        await store.mset([("b", b"22", 3600), ("c", b"33", 3600)])
        assert await store.mget(["a", "b", "c"]) == [b"1", b"22", b"33"]

    async def test_batches_of_1000_keys(self, store: SessionKVStore) -> None:
        keys = [f"big/{i:04d}" for i in range(BIG)]
        await store.mset([(key, key.encode(), 3600) for key in keys])
        assert await store.mget(keys) == [key.encode() for key in keys], "mset/mget lost or reordered items"
        listed = await store.keys("big/")
        assert len(listed) == BIG and set(listed) == set(keys), f"keys() listed {len(listed)} of {BIG}"
        await store.expire(*keys, ttl=3600)
        assert await store.touch([*keys, "big/missing"], 3600) == ["big/missing"]
        await store.delete(keys[: BIG // 2])
        assert await store.mget(keys) == [None] * (BIG // 2) + [key.encode() for key in keys[BIG // 2 :]]
        assert len(await store.keys("")) == BIG - BIG // 2, "delete of a large batch missed keys"
        await store.delete(keys)
        assert await store.keys("") == []
