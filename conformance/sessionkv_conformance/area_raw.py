"""The store as its author wrote it: what ``sessionkv.adapt`` would otherwise supply, checked on the raw object.

A store written against the published interface is certified through ``sessionkv.adapt``, which
de-duplicates batches and listings, short-circuits empty batches and counts ``start()``/``close()``
owners. Callers that use the object directly (the published registry does), or several owners
sharing one object, get none of that, so these tests call the object the factory returned,
unwrapped. A ``SessionKVStore`` subclass is called as is (its base class is part of what its
author wrote). The lifecycle certified:

- ``start()`` may be called again on a started store (another owner) and does not raise;
- every owner can use the store until the last of them has called ``close()``: a ``close()``
  matched by an earlier ``start()`` of another owner closes nothing;
- ``close()`` by the last owner closes the store; ``start()`` after that opens it again, and
  what was written before is still on the server.
"""

from __future__ import annotations

import inspect
from typing import Any

from sessionkv import SessionKVStore

from .differ import value_problem, values_problem
from .runner import area
from .targets import StoreFactory, build_raw, fresh_namespace, raw_store

LONG = 3600.0


def no_repeats(listed: Any, what: str) -> str:
    """'' when ``listed`` is a list naming each key once; else what was wrong, bounded."""
    if not isinstance(listed, list):
        return f"{what} returned {type(listed).__name__}, not a list"
    repeated = sorted({key for key in listed if listed.count(key) > 1})
    if repeated:
        return f"{what} listed {len(listed) - len(set(listed))} key(s) more than once, e.g. {repeated[:3]!r}"
    return ""


@area("store as written")
class RawStoreTests:
    """Repeats, empty batches, listings and the lifecycle on the object the factory returned, unwrapped."""

    async def test_raw_mset_repeated_key_keeps_the_last_item(self, store: SessionKVStore) -> None:
        raw = raw_store(store)
        await raw.mset([("k", b"first", LONG), ("other", b"o", LONG), ("k", b"last", LONG)])
        problem = value_problem(await raw.get("k"), b"last", "mset with 'k' twice, then get('k')")
        assert not problem, problem
        await raw.mset([("k", b"again", LONG), ("k", b"final", LONG), ("k", b"final!", LONG)])
        problem = value_problem(await raw.get("k"), b"final!", "mset with 'k' three times, then get('k')")
        assert not problem, problem

    async def test_raw_mget_repeated_keys_answer_every_position(self, store: SessionKVStore) -> None:
        raw = raw_store(store)
        await raw.mset([("a", b"A", LONG), ("b", b"B", LONG)])
        got = await raw.mget(["a", "b", "a", "missing", "a", "missing"])
        problem = values_problem(got, [b"A", b"B", b"A", None, b"A", None], "mget(['a', 'b', 'a', 'missing', ...])")
        assert not problem, problem

    async def test_raw_repeated_keys_in_expire_and_delete(self, store: SessionKVStore) -> None:
        raw = raw_store(store)
        await raw.mset([("a", b"A", LONG), ("b", b"B", LONG)])
        await raw.expire("a", "a", ttl=LONG)
        problem = value_problem(await raw.get("a"), b"A", "get('a') after expire('a', 'a')")
        assert not problem, problem
        await raw.delete(["a", "a", "missing", "missing"])
        problem = values_problem(await raw.mget(["a", "b"]), [None, b"B"], "mget after delete(['a', 'a', ...])")
        assert not problem, problem

    async def test_raw_empty_batches_do_nothing(self, store: SessionKVStore) -> None:
        raw = raw_store(store)
        await raw.set("kept", b"v", LONG)
        await raw.mset([])
        got = await raw.mget([])
        assert got == [], f"mget([]) returned {got!r}, not []"
        await raw.delete([])
        await raw.expire(ttl=LONG)
        if callable(getattr(raw, "touch", None)):
            missing = await raw.touch([], LONG)
            assert list(missing) == [], f"touch([]) returned {missing!r}, not []"
        assert await raw.keys("") == ["kept"], "an empty batch changed the store"

    async def test_raw_keys_lists_each_key_once(self, store: SessionKVStore) -> None:
        raw = raw_store(store)
        await raw.set("d/k", b"1", LONG)
        await raw.set("d/k", b"2", LONG)
        await raw.mset([("d/k", b"3", LONG), ("d/j", b"1", LONG), ("d/k", b"4", LONG)])
        await raw.set("d/k", b"5", LONG, only_if_exists=True)
        await raw.expire("d/k", ttl=LONG)
        for prefix in ("", "d/", "d/k"):
            listed = await raw.keys(prefix)
            problem = no_repeats(listed, f"keys({prefix!r})")
            assert not problem, problem
            if inspect.iscoroutinefunction(getattr(raw, "items", None)):  # its own items (a mapping's is not)
                problem = no_repeats([key for key, _ in await raw.items(prefix)], f"items({prefix!r})")
                assert not problem, problem
        assert sorted(await raw.keys("d/")) == ["d/j", "d/k"]

    async def test_raw_lifecycle_shared_owners_last_close_and_restart(self, store_factory: StoreFactory) -> None:
        raw = build_raw(store_factory, fresh_namespace("skvc-life"))
        await raw.start()
        try:
            await raw.start()  # a second owner of the same object
        except Exception as exc:
            await raw.close()
            raise AssertionError(f"a second start() on a started store raised {type(exc).__name__}: {exc}") from None
        await raw.set("life", b"1", LONG)
        await raw.close()  # the first owner leaves; the second still uses the store
        try:
            got = await raw.get("life")
        except Exception as exc:
            await raw.close()
            raise AssertionError(
                f"after one of two owners closed the store, get raised {type(exc).__name__}: {exc} (the first "
                "close() closed it for every owner)"
            ) from None
        problem = value_problem(got, b"1", "get('life') after one of two owners closed the store")
        assert not problem, problem
        await raw.close()  # the last owner: closes the store
        try:
            await raw.start()
        except Exception as exc:
            raise AssertionError(f"start() after the last close() raised {type(exc).__name__}: {exc}") from None
        try:
            problem = value_problem(await raw.get("life"), b"1", "get('life') after close and start again")
            assert not problem, problem
            await raw.set("life2", b"2", LONG)
            problem = value_problem(await raw.get("life2"), b"2", "set then get after start again")
            assert not problem, problem
        finally:
            await raw.delete(["life", "life2"])
            await raw.close()
