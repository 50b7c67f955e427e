"""expire and touch: refresh only live keys, never create one; touch reports the missing ones."""

from __future__ import annotations

from sessionkv import SessionKVStore

from .helpers import Clock, refreshed_in_time, timing
from .runner import adapted, area
from .targets import implements_touch


def _note_default_touch(store: SessionKVStore) -> None:
    if not implements_touch(store):
        adapted("touch not implemented (optional): checked sessionkv's default (mget then expire, not atomic)")


@area("expire & touch")
class ExpireTouchTests:
    """expire(*keys, ttl) and the optional touch(keys, ttl) -> missing keys."""

    async def test_expire_extends_live_key(self, store: SessionKVStore) -> None:
        t = timing(store)

        async def extend() -> None:
            await store.set("a", b"1", t.window)
            await store.set("b", b"2", t.window)
            await store.expire("a", "b", ttl=t.long)

        await refreshed_in_time(store, t, ["a", "b"], extend)
        clock = Clock()
        await clock.until(t.gone_after(t.window))
        assert await store.mget(["a", "b"]) == [b"1", b"2"], "expire did not extend the ttl of live keys"

    async def test_expire_shortens_live_key(self, store: SessionKVStore) -> None:
        t = timing(store)
        await store.set("a", b"1", t.long)
        await store.set("b", b"2", t.long)
        await store.expire("a", ttl=t.short)
        clock = Clock()
        await clock.until(t.gone_after(t.short))
        assert await store.mget(["a", "b"]) == [None, b"2"], "expire did not replace the ttl"

    async def test_expire_never_creates_missing_key(self, store: SessionKVStore) -> None:
        await store.set("live", b"1", 3600)
        await store.expire("missing", "live", "other-missing", ttl=3600)
        assert await store.mget(["missing", "other-missing", "live"]) == [None, None, b"1"]
        assert await store.keys("") == ["live"], "expire created a key"

    async def test_expire_does_not_revive_expired_key(self, store: SessionKVStore) -> None:
        t = timing(store)
        await store.set("gone", b"1", t.short)
        clock = Clock()
        await clock.until(t.gone_after(t.short))
        await store.expire("gone", ttl=t.long)
        assert await store.get("gone") is None, "expire revived an expired key"
        assert await store.keys("") == []

    async def test_expire_accepts_missing_and_repeated_keys(self, store: SessionKVStore) -> None:
        t = timing(store)

        async def extend() -> None:
            await store.set("a", b"1", t.window)
            await store.expire("a", "missing", "a", "a", ttl=t.long)

        await refreshed_in_time(store, t, ["a"], extend)
        await store.expire(ttl=t.long)  # no keys: nothing to do
        clock = Clock()
        await clock.until(t.gone_after(t.window))
        assert await store.mget(["a", "missing"]) == [b"1", None]

    async def test_expire_tiny_ttl_rounds_up_not_forever(self, store: SessionKVStore) -> None:
        t = timing(store)
        await store.mset([(f"k{i}", b"x", t.long) for i in range(4)])
        for i, ttl in enumerate([1e-9, 1e-4, 5e-4, t.min_ttl / 2]):
            await store.expire(f"k{i}", ttl=ttl)
        clock = Clock()
        await clock.until(t.gone_after(5e-4))
        assert await store.mget([f"k{i}" for i in range(4)]) == [None] * 4, "a tiny expire ttl meant 'no expiry'"

    async def test_touch_returns_missing_keys_and_refreshes_live_ones(self, store: SessionKVStore) -> None:
        _note_default_touch(store)
        t = timing(store)

        async def touch() -> list[str]:
            await store.set("a", b"1", t.window)
            await store.set("b", b"2", t.window)
            return await store.touch(["a", "missing", "a", "b", "other"], t.long)

        missing = await refreshed_in_time(store, t, ["a", "b"], touch)
        assert sorted(missing) == ["missing", "other"]
        assert await store.touch([], t.long) == []
        clock = Clock()
        await clock.until(t.gone_after(t.window))
        assert await store.mget(["a", "b", "missing", "other"]) == [b"1", b"2", None, None]
        assert sorted(await store.keys("")) == ["a", "b"], "touch created a key"

    async def test_touch_reports_expired_keys_and_never_revives_them(self, store: SessionKVStore) -> None:
        _note_default_touch(store)
        t = timing(store)
        await store.set("gone", b"1", t.short)
        await store.set("live", b"2", t.long)
        clock = Clock()
        await clock.until(t.gone_after(t.short))
        assert await store.touch(["gone", "live"], t.long) == ["gone"]
        assert await store.mget(["gone", "live"]) == [None, b"2"]

    async def test_touch_tiny_ttl_rounds_up_not_forever(self, store: SessionKVStore) -> None:
        _note_default_touch(store)
        t = timing(store)
        await store.set("a", b"1", t.long)
        assert await store.touch(["a"], 1e-9) == []
        clock = Clock()
        await clock.until(t.gone_after(1e-9))
        assert await store.get("a") is None
