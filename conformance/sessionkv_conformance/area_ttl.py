"""TTL: keys live for their ttl (never much less, never longer than ttl + declared resolution)."""

from __future__ import annotations

import math
from typing import Any

import pytest

from sessionkv import AdaptedStore, SessionKVStore

from .helpers import Clock, expect_rejected, timing
from .runner import area

DAY = 86400.0
BAD_TTL_VALUES: list[tuple[object, type[Exception]]] = [
    (0, ValueError),
    (0.0, ValueError),
    (-0.0, ValueError),
    (-1, ValueError),
    (math.nan, ValueError),
    (math.inf, ValueError),
    (-math.inf, ValueError),
    ("10", TypeError),
    (None, TypeError),
    (True, TypeError),
    (b"1", TypeError),
    ([1], TypeError),
]


@area("TTL")
class TTLTests:
    """Expiry timing, rounding of tiny ttls, rejection of bad ttls, very long ttls."""

    async def test_ttl_key_readable_until_shortly_before_ttl(self, store: SessionKVStore) -> None:
        t = timing(store)
        for _attempt in range(3):
            clock = Clock()
            await store.set("set", b"1", t.short)
            await store.mset([("mset", b"2", t.short)])
            for check in (0.0, t.still_there_before(t.short)):
                await clock.until(check)
                got = (await store.get("set"), await store.mget(["set", "mset"]), sorted(await store.keys("")))
                if clock.elapsed() >= t.short:
                    break  # the machine stalled past the ttl: these reads prove nothing, try again
                expected = (b"1", [b"1", b"2"], ["mset", "set"])
                assert got == expected, f"(get, mget, keys) {check:.3f}s into a {t.short}s ttl"
            else:
                return
            await store.delete(["set", "mset"])
        pytest.fail("the event loop stalled past the ttl three times; could not check", pytrace=False)

    async def test_ttl_key_gone_within_declared_resolution(self, store: SessionKVStore) -> None:
        t = timing(store)
        await store.set("short", b"1", t.short)
        await store.mset([("mshort", b"2", t.short), ("long", b"3", t.long)])
        clock = Clock()
        await clock.until(t.gone_after(t.short))
        where = f"{t.short}s ttl + declared ttl_resolution {t.resolution}s"
        assert await store.get("short") is None, f"key still readable after {where}"
        assert await store.get("mshort") is None, f"mset key still readable after {where}"
        assert await store.mget(["short", "mshort", "long"]) == [None, None, b"3"]
        assert await store.keys("") == ["long"], f"expired key still listed after {where}"

    async def test_ttl_fractional_seconds_not_truncated(self, store: SessionKVStore) -> None:
        t = timing(store)
        unit = max(1.0, t.resolution)
        ttl = 1.5 * unit
        clock = Clock()
        await store.set("frac", b"1", ttl)
        await store.mset([("mfrac", b"2", ttl)])
        after = Clock()
        await clock.until(ttl - max(0.15 * unit, t.resolution / 2))
        got = await store.mget(["frac", "mfrac"])
        if clock.elapsed() < ttl:  # unless the machine stalled past the ttl meanwhile
            assert got == [b"1", b"2"], f"a {ttl}s ttl was cut short (truncated?)"
        await after.until(t.gone_after(ttl))
        assert await store.mget(["frac", "mfrac"]) == [None, None], f"a {ttl}s ttl outlived its resolution"

    async def test_ttl_tiny_and_sub_millisecond_round_up_not_forever(self, store: SessionKVStore) -> None:
        t = timing(store)
        tiny = [1e-9, 1e-6, 1e-4, 5e-4, 0.0015, t.min_ttl / 2]
        keys = [f"tiny{i}" for i in range(len(tiny))]
        for key, ttl in zip(keys, tiny, strict=True):
            await store.set(key, b"x", ttl)  # never an error
        await store.mset([(f"m{key}", b"x", ttl) for key, ttl in zip(keys, tiny, strict=True)])
        await store.set("long", b"y", t.long)
        clock = Clock()
        await clock.until(t.gone_after(max(tiny)))
        every = keys + [f"m{key}" for key in keys]
        values = await store.mget(every)
        kept = [(key, ttl) for key, ttl, v in zip(every, tiny + tiny, values, strict=True) if v is not None]
        assert not kept, f"tiny ttls must round up to min_ttl={t.min_ttl}, not to 'no expiry': {kept}"
        assert await store.keys("") == ["long"]

    async def test_ttl_set_again_replaces_ttl(self, store: SessionKVStore) -> None:
        t = timing(store)
        await store.set("shortened", b"1", t.long)
        await store.set("shortened", b"2", t.short)
        await store.set("lengthened", b"1", t.short)
        await store.set("lengthened", b"2", t.long)
        await store.mset([("mshortened", b"1", t.long)])
        await store.mset([("mshortened", b"2", t.short)])
        clock = Clock()
        await clock.until(t.gone_after(t.short))
        assert await store.mget(["shortened", "lengthened", "mshortened"]) == [None, b"2", None]

    async def test_ttl_mset_items_keep_their_own_ttl(self, store: SessionKVStore) -> None:
        t = timing(store)
        await store.mset([("a", b"1", t.short), ("b", b"2", t.long), ("c", b"3", t.short), ("d", b"4", t.long)])
        clock = Clock()
        await clock.until(t.gone_after(t.short))
        assert await store.mget(["a", "b", "c", "d"]) == [None, b"2", None, b"4"]

    async def test_ttl_bad_values_rejected_with_nothing_written(self, store: SessionKVStore) -> None:
        s: Any = store  # deliberately ill-typed calls
        await store.set("kept", b"old", 3600)
        for ttl, error in BAD_TTL_VALUES:
            what = f"ttl={ttl!r}"
            await expect_rejected(store, error, f"set {what}", s.set, "kept", b"new", ttl)
            await expect_rejected(store, error, f"set {what}", s.set, "new", b"new", ttl)
            await expect_rejected(store, error, f"set {what}", s.set, "kept", b"new", ttl, only_if_exists=True)
            await expect_rejected(store, error, f"mset {what}", s.mset, [("a", b"1", 10), ("new", b"n", ttl)])
            await expect_rejected(store, error, f"expire {what}", s.expire, "kept", ttl=ttl)
            await expect_rejected(store, error, f"touch {what}", s.touch, ["kept"], ttl)
        assert await store.get("kept") == b"old"
        assert await store.keys("") == ["kept"]
        if isinstance(store, AdaptedStore):
            await _stranger_refuses_non_positive_ttl(store)

    async def test_ttl_31_and_365_days_readable_right_away(self, store: SessionKVStore) -> None:
        month, year = 31 * DAY, 365 * DAY
        await store.set("month", b"m", month)
        await store.set("year", b"y", year)
        await store.mset([("mmonth", b"mm", month), ("myear", b"my", year)])
        await store.set("refreshed", b"r", 60)
        await store.expire("refreshed", ttl=year)
        await store.set("touched", b"t", 60)
        assert await store.touch(["touched"], month) == []
        await store.set("updated", b"u", 60)
        await store.set("updated", b"u2", year, only_if_exists=True)
        expected = {
            "month": b"m",
            "year": b"y",
            "mmonth": b"mm",
            "myear": b"my",
            "refreshed": b"r",
            "touched": b"t",
            "updated": b"u2",
        }
        assert await store.mget(list(expected)) == list(expected.values()), "a long ttl made the key vanish"
        assert sorted(await store.keys("")) == sorted(expected)


async def _stranger_refuses_non_positive_ttl(store: AdaptedStore) -> None:
    """``sessionkv.adapt`` rejects bad ttls before calling a stranger; called directly, it must not keep the key.

    Raising is best; quietly writing an already expired key is tolerated; keeping it (as "no
    expiry", like memcached's exptime 0) is the defect this catches.
    """
    inner = store.inner
    for ttl in (0, 0.0, -1.0):
        try:
            await inner.set("ttl-zero", b"v", ttl)
        except Exception:  # refused: what the contract asks of a direct call
            continue
        kept = await inner.get("ttl-zero")
        await inner.delete(["ttl-zero"])
        owner = type(inner).__name__
        assert kept is None, f"{owner}.set(ttl={ttl!r}) called directly kept the key: a ttl <= 0 must be refused"
