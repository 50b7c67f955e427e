"""Listing: ``keys(prefix)`` (and ``items(prefix)``) matches literally, respects boundaries and namespaces, lists
each key once.

It also certifies what listing a directory costs (``capabilities.directory_listing``), counted by
the store's ``keys_examined``, never timed.
"""

from __future__ import annotations

import asyncio
import contextlib

from sessionkv import SessionKVStore

from .helpers import Clock, other_namespace, timing
from .listing_cost import (
    CHECKED,
    IN_DIRECTORY,
    counted,
    examined_bound,
    planted,
    scan_reason,
    tagged_only_reason,
    uncounted_reason,
    unrelated_keys,
)
from .runner import adapted, area, record_listing
from .targets import StoreFactory

#: keys around glob/LIKE/regex metacharacters; each prefix must list exactly its own keys
LITERAL_CASES: dict[str, list[str]] = {
    "a*": ["a*b"],
    "a?": ["a?c"],
    "a[": ["a[x]"],
    "a[x": ["a[x]"],
    "a]": ["a]y"],
    "a\\": ["a\\d", "a\\*"],
    "a\\*": ["a\\*"],
    "a%": ["a%e"],
    "a_": ["a_f"],
    "a.": ["a.g"],
    "a^": ["a^h"],
    "a{": ["a{1}"],
    "a": ["a*b", "a?c", "a[x]", "a]y", "a\\d", "a\\*", "a%e", "a_f", "a.g", "a^h", "a{1}", "aXb", "ab", "azz"],
}
DISTRACTORS = ["aXb", "ab", "azz", "b*", "xa*b"]


@area("listing")
class ListingTests:
    """keys(prefix) and items(prefix): literal prefixes, boundaries, whole namespace, churn, expiry."""

    async def test_keys_prefix_is_literal_not_glob(self, store: SessionKVStore) -> None:
        every = sorted(set(LITERAL_CASES["a"]) | set(DISTRACTORS))
        await store.mset([(key, b"v", 3600) for key in every])
        for prefix, expected in LITERAL_CASES.items():
            assert sorted(await store.keys(prefix)) == sorted(expected), f"keys({prefix!r}) is not a literal prefix"
        assert sorted(await store.keys("b*")) == ["b*"]
        assert await store.keys("*") == [], "keys('*') matched as a glob"
        assert await store.keys("%") == [], "keys('%') matched as a LIKE pattern"

    async def test_keys_non_ascii_prefix(self, store: SessionKVStore) -> None:
        keys = ["é/1", "é/2", "e/3", "ée", "日本/語", "日/x", "😀/a", "😀😀", "😁"]
        await store.mset([(key, b"v", 3600) for key in keys])
        assert sorted(await store.keys("é/")) == ["é/1", "é/2"]
        assert sorted(await store.keys("é")) == ["é/1", "é/2", "ée"]
        assert sorted(await store.keys("日本")) == ["日本/語"]
        assert sorted(await store.keys("😀")) == ["😀/a", "😀😀"]
        assert await store.keys("😀/a") == ["😀/a"]

    async def test_keys_prefix_boundaries(self, store: SessionKVStore) -> None:
        keys = ["s/a", "s/a/x", "s/a/y/z", "s/ab/x", "s/b/x", "s", "t/a/x"]
        await store.mset([(key, b"v", 3600) for key in keys])
        assert sorted(await store.keys("s/a/")) == ["s/a/x", "s/a/y/z"], "prefix 's/a/' leaked past its boundary"
        assert sorted(await store.keys("s/a")) == ["s/a", "s/a/x", "s/a/y/z", "s/ab/x"]
        assert await store.keys("s/a/x") == ["s/a/x"]
        assert await store.keys("s/a/x/") == []
        assert await store.keys("s/c") == []

    async def test_keys_empty_prefix_lists_whole_namespace_only(
        self, store: SessionKVStore, store_factory: StoreFactory
    ) -> None:
        mine = ["a", "b/c", "é", "zz"]
        await store.mset([(key, b"mine", 3600) for key in mine])
        assert sorted(await store.keys("")) == sorted(mine), "keys('') must list exactly this namespace's keys"
        async with other_namespace(store_factory, "that keys('') never lists another namespace") as other:
            if other is None:
                return
            await other.mset([("a", b"theirs", 3600), ("other-only", b"theirs", 3600)])
            assert sorted(await store.keys("")) == sorted(mine), "keys('') listed another namespace's keys"
            assert sorted(await store.items("")) == [(key, b"mine") for key in sorted(mine)], (
                "items('') listed another namespace's keys or values"
            )
            assert sorted(await other.keys("")) == ["a", "other-only"]
            assert await store.get("other-only") is None, "get read another namespace"
            assert await store.get("a") == b"mine"

    async def test_namespaces_isolate_writes_and_deletes(
        self, store: SessionKVStore, store_factory: StoreFactory
    ) -> None:
        await store.set("shared-name", b"mine", 3600)
        async with other_namespace(store_factory, "that namespaces isolate writes and deletes") as other:
            if other is None:
                assert await store.get("shared-name") == b"mine"
                return
            await other.set("shared-name", b"theirs", 3600)
            await other.set("shared-name", b"theirs2", 3600, only_if_exists=True)
            await other.expire("shared-name", ttl=3600)
            assert await store.get("shared-name") == b"mine"
            await other.delete(["shared-name"])
            assert await store.get("shared-name") == b"mine", "delete in another namespace removed this key"
            await store.delete(["shared-name"])
            await other.set("shared-name", b"x", 3600, only_if_exists=True)
            assert await other.get("shared-name") is None

    async def test_keys_each_key_once_while_others_churn(self, store: SessionKVStore) -> None:
        stable = [f"stable/{i:03d}" for i in range(300)]
        await store.mset([(key, b"s", 3600) for key in stable])
        stop = asyncio.Event()

        async def churn() -> None:
            n = 0
            while not stop.is_set():
                batch = [f"churn/{n}/{i}" for i in range(20)]
                await store.mset([(key, b"c", 3600) for key in batch])
                await store.delete(batch[::2])
                n += 1
                await asyncio.sleep(0)

        task = asyncio.ensure_future(churn())
        try:
            for _ in range(5):
                listed = await store.keys("")
                assert len(listed) == len(set(listed)), "keys() returned a key twice"
                missing = set(stable) - set(listed)
                assert not missing, f"keys() missed {len(missing)} stable keys while others churned"
                unknown = [k for k in listed if not k.startswith(("stable/", "churn/"))]
                assert not unknown, f"keys() returned keys never written: {unknown[:5]}"
                assert sorted(await store.keys("stable/")) == stable
        finally:
            stop.set()
            with contextlib.suppress(Exception):
                await task

    async def test_keys_omits_expired_keys(self, store: SessionKVStore) -> None:
        t = timing(store)
        await store.mset([("p/short1", b"1", t.short), ("p/long", b"2", t.long), ("p/short2", b"3", t.short)])
        await store.set("q/short", b"4", t.short)
        clock = Clock()
        await clock.until(t.gone_after(t.short))
        assert await store.keys("p/") == ["p/long"], "keys(prefix) listed expired keys"
        assert await store.keys("") == ["p/long"], "keys('') listed expired keys"
        assert await store.keys("q/") == []

    async def test_items_gives_each_live_key_with_its_value(self, store: SessionKVStore) -> None:
        stored = {"d/a": b"1", "d/b": b"", "d/sub/c": b"\x00\xff", "d*": b"glob", "da": b"x", "é/1": b"u", "e": b"y"}
        await store.mset([(key, value, 3600) for key, value in stored.items()])
        for prefix in ("", "d", "d/", "d/sub/", "d/a", "d*", "é", "zz", "*"):
            got = await store.items(prefix)
            expected = sorted((key, value) for key, value in stored.items() if key.startswith(prefix))
            assert len(got) == len({key for key, _ in got}), f"items({prefix!r}) returned a key twice"
            assert sorted(got) == expected, f"items({prefix!r}) gave {sorted(got)!r}, not {expected!r}"
        listed = sorted(await store.keys("d/"))
        assert sorted(await store.items("d/")) == list(zip(listed, await store.mget(listed), strict=True)), (
            "items('d/') differs from keys('d/') then mget"
        )

    async def test_items_omits_expired_keys(self, store: SessionKVStore) -> None:
        t = timing(store)
        await store.mset([("p/short1", b"1", t.short), ("p/long", b"2", t.long), ("p/short2", b"3", t.short)])
        clock = Clock()
        await clock.until(t.gone_after(t.short))
        assert await store.items("p/") == [("p/long", b"2")], "items(prefix) listed expired keys"
        assert await store.items("") == [("p/long", b"2")], "items('') listed expired keys"

    async def test_listing_a_directory_costs_its_entries(self, store: SessionKVStore) -> None:
        kind = store.capabilities.directory_listing
        record_listing(kind)
        directories = planted()
        every = [*unrelated_keys(), *(key for keys in directories.values() for key in keys)]
        await store.mset([(key, b"v", 3600) for key in every])
        checked = CHECKED.get(kind, [])
        costs: list[str] = []
        for directory, expected in directories.items():
            before = counted(store)
            listed = await store.keys(directory)
            after = counted(store)
            assert sorted(listed) == sorted(expected), f"keys({directory!r}) did not list exactly its directory"
            if directory not in checked:
                continue
            if before is None or after is None:
                adapted(uncounted_reason(kind))
                return
            examined, bound = after - before, examined_bound(len(expected))
            assert examined >= len(expected), (
                f"keys_examined did not count the entries returned: keys({directory!r}) returned {len(expected)} "
                f"keys but keys_examined moved by {examined}"
            )
            assert examined <= bound, (
                f"declared directory_listing={kind!r} but keys({directory!r}) examined {examined} entries for "
                f"{len(expected)} keys among {len(every)} (at most {bound} allowed: 2 per key + 20)"
            )
            costs.append(f"keys({directory!r}) examined {examined}")
        if kind == "scan":
            adapted(scan_reason())
            return
        if kind == "hash_tagged":
            adapted(tagged_only_reason())
        record_listing(kind, f"{', '.join(costs)} (directories of {IN_DIRECTORY} and 0 keys among {len(every)})")


@area("delete")
class DeleteTests:
    """delete(keys): removes exactly the given keys, ignores missing and repeated ones."""

    async def test_delete_removes_only_given_keys(self, store: SessionKVStore) -> None:
        await store.mset([(k, b"v", 3600) for k in ("a", "ab", "a/b", "b")])
        await store.delete(["a", "a/b"])
        assert await store.mget(["a", "ab", "a/b", "b"]) == [None, b"v", None, b"v"]
        assert sorted(await store.keys("")) == ["ab", "b"]

    async def test_delete_ignores_missing_and_repeated_keys(self, store: SessionKVStore) -> None:
        await store.mset([("a", b"1", 3600), ("b", b"2", 3600)])
        await store.delete(["missing", "a", "a", "missing", "a"])
        await store.delete(["a"])  # already gone: no error
        assert await store.mget(["a", "b"]) == [None, b"2"]

    async def test_deleted_key_can_be_written_again(self, store: SessionKVStore) -> None:
        await store.set("k", b"1", 3600)
        await store.delete(["k"])
        await store.set("k", b"2", 3600, only_if_exists=True)
        assert await store.get("k") is None, "only_if_exists wrote a deleted key"
        await store.set("k", b"3", 3600)
        assert await store.get("k") == b"3"
        assert await store.keys("") == ["k"]
