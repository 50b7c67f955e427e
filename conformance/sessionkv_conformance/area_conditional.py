"""Conditional writes: ``set(..., only_if_exists=True)`` updates live keys only, atomically."""

from __future__ import annotations

import asyncio

from sessionkv import SessionKVStore

from .helpers import Clock, refreshed_in_time, timing
from .runner import area

RACE_KEYS = 50
RACE_ROUNDS = 8


@area("conditional writes")
class ConditionalWriteTests:
    """The only_if_exists matrix (missing, expired, present) and its race against delete."""

    async def test_only_if_exists_missing_key_not_created(self, store: SessionKVStore) -> None:
        await store.set("missing", b"v", 3600, only_if_exists=True)
        assert await store.get("missing") is None, "only_if_exists created a missing key"
        assert await store.mget(["missing"]) == [None]
        assert await store.keys("") == []

    async def test_only_if_exists_expired_key_not_revived(self, store: SessionKVStore) -> None:
        t = timing(store)
        await store.set("gone", b"old", t.short)
        clock = Clock()
        await clock.until(t.gone_after(t.short))
        await store.set("gone", b"new", t.long, only_if_exists=True)
        assert await store.get("gone") is None, "only_if_exists revived an expired key"
        assert await store.keys("") == []

    async def test_only_if_exists_present_key_updated(self, store: SessionKVStore) -> None:
        await store.set("here", b"old", 3600)
        await store.set("here", b"new", 3600, only_if_exists=True)
        assert await store.get("here") == b"new"
        await store.set("here", b"", 3600, only_if_exists=True)
        assert await store.get("here") == b"", "only_if_exists did not write an empty value"

    async def test_only_if_exists_update_replaces_ttl(self, store: SessionKVStore) -> None:
        t = timing(store)

        async def lengthen() -> None:
            await store.set("lengthened", b"1", t.window)
            await store.set("lengthened", b"2", t.long, only_if_exists=True)

        await refreshed_in_time(store, t, ["lengthened"], lengthen)
        await store.set("shortened", b"1", t.long)
        await store.set("shortened", b"2", t.window, only_if_exists=True)
        clock = Clock()
        await clock.until(t.gone_after(t.window))
        assert await store.get("shortened") is None, "only_if_exists kept the old (longer) ttl"
        assert await store.get("lengthened") == b"2", "only_if_exists kept the old (shorter) ttl"

    async def test_only_if_exists_racing_delete_never_resurrects(self, store: SessionKVStore) -> None:
        keys = [f"race/{i}" for i in range(RACE_KEYS)]
        for round_ in range(RACE_ROUNDS):
            await store.mset([(key, b"live", 3600) for key in keys])
            ops = []
            for i, key in enumerate(keys):
                update = store.set(key, b"updated", 3600, only_if_exists=True)
                delete = store.delete([key])
                ops.extend([update, delete] if (i + round_) % 2 else [delete, update])
            await asyncio.gather(*ops)
            values = await store.mget(keys)
            resurrected = [key for key, value in zip(keys, values, strict=True) if value is not None]
            assert not resurrected, f"round {round_}: set(only_if_exists) after delete resurrected {resurrected[:5]}"
            assert await store.keys("race/") == []
