"""Keys and values at the edges, bad input rejected with nothing written, declared limits."""

from __future__ import annotations

import dataclasses
from typing import Any

from sessionkv import SessionKVStore, ValueTooLargeError

from .differ import value_problem, values_problem
from .helpers import expect_rejected
from .runner import adapted, area

LONG_KEYS = {
    "ascii": "k" * 1024,
    "two-byte": "é" * 512,
    "three-byte": "語" * 341 + "x",
    "emoji": "😀" * 256,
    "mixed": ("a/é 😀\n" * 100)[:300],
}
ODD_KEYS = [
    "with space",
    " leading",
    "trailing ",
    "new\nline",
    "cr\r\nlf",
    "tab\there",
    "emoji😀/x",
    "zwj👩‍👩‍👧",
    "null-ish\x01",
    "colon:key",
    "{braces}",
    "'quote\"",
    "..",
    "/",
    "\\",
]
UNLIMITED_VALUE = 1024 * 1024 + 1
VALUE_TEST_CAP = 4 * 1024 * 1024  # larger declared limits are not written in full
UNLIMITED_KEY = 4096


def _with_value_limit(store: SessionKVStore, limit: int) -> SessionKVStore:
    """``store`` itself with a smaller declared max_value_size (same connection, same namespace)."""
    store.capabilities = dataclasses.replace(store.capabilities, max_value_size=limit)
    return store


def _utf8(key: str) -> int:
    return len(key.encode("utf-8"))


@area("keys & values")
class KeyValueTests:
    """Long, odd and non-ASCII keys; empty, binary and bytes-like values."""

    async def test_keys_of_1024_utf8_bytes(self, store: SessionKVStore) -> None:
        keys = {name: key for name, key in LONG_KEYS.items() if _utf8(key) <= 1024}
        assert all(_utf8(k) >= 1000 for n, k in keys.items() if n != "mixed")
        await store.mset([(key, name.encode(), 3600) for name, key in keys.items()])
        assert await store.mget(list(keys.values())) == [name.encode() for name in keys]
        assert sorted(await store.keys("")) == sorted(keys.values()), "long keys were not listed back exactly"
        assert await store.keys(LONG_KEYS["emoji"][:200]) == [LONG_KEYS["emoji"]]
        await store.set(LONG_KEYS["ascii"], b"updated", 3600, only_if_exists=True)
        assert await store.get(LONG_KEYS["ascii"]) == b"updated"
        assert await store.touch(list(keys.values()), 3600) == []
        await store.delete(list(keys.values()))
        assert await store.keys("") == []

    async def test_keys_with_spaces_newlines_and_emoji(self, store: SessionKVStore) -> None:
        await store.mset([(key, key.encode(), 3600) for key in ODD_KEYS])
        assert await store.mget(ODD_KEYS) == [key.encode() for key in ODD_KEYS]
        assert sorted(await store.keys("")) == sorted(ODD_KEYS), "odd keys were not listed back exactly"
        assert await store.keys("new\n") == ["new\nline"]
        assert await store.keys("with ") == ["with space"]
        for key in ODD_KEYS:
            assert await store.get(key) == key.encode(), f"get({key!r})"
        await store.delete(ODD_KEYS)
        assert await store.keys("") == []

    async def test_values_come_back_as_bytes_keys_as_str(self, store: SessionKVStore) -> None:
        await store.set("typed", b"abc", 3600)
        problem = value_problem(await store.get("typed"), b"abc", "get('typed')")
        assert not problem, problem
        problem = values_problem(await store.mget(["typed", "missing"]), [b"abc", None], "mget(['typed', 'missing'])")
        assert not problem, problem
        listed = await store.keys("")
        assert type(listed) is list and [type(k) for k in listed] == [str], f"keys('') returned {listed!r}"

    async def test_empty_value(self, store: SessionKVStore) -> None:
        await store.set("empty", b"", 3600)
        await store.mset([("mempty", b"", 3600)])
        problem = value_problem(await store.get("empty"), b"", "get of an empty value")
        assert not problem, problem
        problem = values_problem(await store.mget(["empty", "mempty", "missing"]), [b"", b"", None])
        assert not problem, problem
        assert sorted(await store.keys("")) == ["empty", "mempty"]
        assert await store.touch(["empty", "mempty"], 3600) == [], "touch took an empty value for missing"

    async def test_binary_values_all_256_bytes(self, store: SessionKVStore) -> None:
        every = bytes(range(256))
        values = {
            "all": every,
            "reversed": every[::-1],
            "nul": b"\x00",
            "crlf": b"\r\n",
            "utf8-invalid": b"\xff\xfe\xc0",
        }
        values.update({f"byte-{i}": bytes([i]) for i in range(256)})
        await store.mset([(key, value, 3600) for key, value in values.items()])
        problem = values_problem(await store.mget(list(values)), list(values.values()), "mget of binary values")
        assert not problem, problem
        await store.set("all", every * 4, 3600)
        problem = value_problem(await store.get("all"), every * 4, "get('all')")
        assert not problem, problem

    async def test_keys_and_prefixes_with_nul(self, store: SessionKVStore) -> None:
        keys = {"a": b"1", "a\x00": b"2", "a\x00b": b"3", "a\x00c": b"4", "ab": b"5", "\x00": b"6", "\x00\x00x": b"7"}
        await store.mset([(key, value, 3600) for key, value in keys.items()])
        problem = values_problem(await store.mget(list(keys)), list(keys.values()), "mget of keys holding NUL")
        assert not problem, problem
        for key, value in keys.items():
            problem = value_problem(await store.get(key), value, f"get({key!r})")
            assert not problem, problem
        assert sorted(await store.keys("")) == sorted(keys), "keys holding NUL were not listed back exactly"
        assert sorted(await store.keys("a\x00")) == ["a\x00", "a\x00b", "a\x00c"], "keys('a\\x00')"
        assert await store.keys("a\x00b") == ["a\x00b"], "keys('a\\x00b')"
        assert sorted(await store.keys("\x00")) == ["\x00", "\x00\x00x"], "keys('\\x00')"
        await store.delete(["a\x00"])
        assert sorted(await store.keys("a")) == ["a", "a\x00b", "a\x00c", "ab"], "delete(['a\\x00']) hit other keys"

    async def test_keys_differing_only_by_case_are_distinct(self, store: SessionKVStore) -> None:
        keys = {"room": b"lower", "Room": b"title", "ROOM": b"upper", "é": b"e-acute", "É": b"E-acute", "ß": b"sharp-s"}
        keys["SS"] = b"capital-ss"
        await store.mset([(key, value, 3600) for key, value in keys.items()])
        problem = values_problem(await store.mget(list(keys)), list(keys.values()), "mget of keys differing by case")
        assert not problem, problem
        assert sorted(await store.keys("")) == sorted(keys), "keys differing only by case were merged"
        assert await store.keys("r") == ["room"], "keys('r') must not list Room or ROOM"
        assert sorted(await store.keys("R")) == ["ROOM", "Room"], "keys('R')"
        await store.delete(["Room"])
        assert sorted(await store.keys("")) == sorted(set(keys) - {"Room"}), "delete(['Room']) hit another case"
        await store.set("room", b"again", 3600, only_if_exists=True)
        assert await store.mget(["room", "ROOM"]) == [b"again", b"upper"], "a write to 'room' reached 'ROOM'"

    async def test_bytes_like_values_stored_as_bytes(self, store: SessionKVStore) -> None:
        s: Any = store  # bytes-like values are accepted though the signature says bytes
        await s.set("ba", bytearray(b"ba"), 3600)
        await s.set("mv", memoryview(b"mv"), 3600)
        await s.mset([("mba", bytearray(b"x"), 3600), ("mmv", memoryview(b"yz")[1:], 3600)])
        got = await store.mget(["ba", "mv", "mba", "mmv"])
        assert got == [b"ba", b"mv", b"x", b"z"]
        assert all(type(value) is bytes for value in got)


@area("bad input")
class BadInputTests:
    """Every bad argument raises TypeError/ValueError before any write."""

    async def test_bad_keys_rejected_with_nothing_written(self, store: SessionKVStore) -> None:
        s: Any = store  # deliberately ill-typed calls
        await store.set("kept", b"old", 3600)
        bad: list[tuple[object, type[Exception]]] = [("", ValueError), (b"k", TypeError), (1, TypeError)]
        bad += [(None, TypeError), ("\ud800", ValueError)]
        for key, error in bad:
            what = f"key={key!r}"
            await expect_rejected(store, error, f"set {what}", s.set, key, b"v", 10)
            await expect_rejected(store, error, f"get {what}", s.get, key)
            await expect_rejected(store, error, f"mget {what}", s.mget, ["kept", key])
            await expect_rejected(store, error, f"delete {what}", s.delete, ["kept", key])
            await expect_rejected(store, error, f"expire {what}", s.expire, "kept", key, ttl=1)
            await expect_rejected(store, error, f"touch {what}", s.touch, ["kept", key], 1)
            await expect_rejected(store, error, f"mset {what}", s.mset, [("new", b"v", 10), (key, b"v", 10)])
        assert await store.get("kept") == b"old"

    async def test_bad_values_rejected_with_nothing_written(self, store: SessionKVStore) -> None:
        s: Any = store
        await store.set("kept", b"old", 3600)
        for value in ("text", 1, None, ["b"], {"a": 1}):
            what = f"value={value!r}"
            await expect_rejected(store, TypeError, f"set {what}", s.set, "kept", value, 10)
            await expect_rejected(store, TypeError, f"set {what}", s.set, "new", value, 10)
            await expect_rejected(store, TypeError, f"mset {what}", s.mset, [("new", b"ok", 10), ("kept", value, 10)])
        assert await store.get("kept") == b"old"

    async def test_bad_batches_rejected_with_nothing_written(self, store: SessionKVStore) -> None:
        s: Any = store
        await store.set("kept", b"old", 3600)
        cases: list[tuple[str, Any, tuple[Any, ...]]] = [
            ("mget('kept')", s.mget, ("kept",)),
            ("delete('kept')", s.delete, ("kept",)),
            ("touch('kept')", s.touch, ("kept", 10)),
            ("mset(dict)", s.mset, ({"kept": (b"v", 10)},)),
            ("mset(pair)", s.mset, ([("kept", b"v")],)),
            ("mset(4-tuple)", s.mset, ([("kept", b"v", 10, 1)],)),
            ("mset(str item)", s.mset, (["kv1"],)),
            ("mset(None)", s.mset, (None,)),
            ("mget(None)", s.mget, (None,)),
        ]
        for what, method, args in cases:
            await expect_rejected(store, TypeError, what, method, *args)
        assert await store.get("kept") == b"old"

    async def test_bad_prefix_and_flags_rejected(self, store: SessionKVStore) -> None:
        s: Any = store
        await store.set("kept", b"old", 3600)
        for prefix in (None, b"k", 1):
            await expect_rejected(store, TypeError, f"keys({prefix!r})", s.keys, prefix)
        for flag in (1, "yes", None):
            await expect_rejected(
                store, TypeError, f"only_if_exists={flag!r}", s.set, "kept", b"new", 10, only_if_exists=flag
            )
        assert await store.get("kept") == b"old"


@area("limits")
class LimitTests:
    """Declared max_value_size, max_key_size and max_ttl hold exactly; undeclared ones are generous."""

    async def test_value_at_max_value_size_works(self, store: SessionKVStore) -> None:
        limit = store.capabilities.max_value_size
        size = limit if limit is not None else UNLIMITED_VALUE
        if limit is None:
            adapted(f"no max_value_size declared: checked that a {size}-byte value works")
        elif limit > VALUE_TEST_CAP:
            size = VALUE_TEST_CAP
            adapted(f"declared max_value_size of {limit} bytes is too large to write in a test: checked {size} bytes")
        value = bytes(i % 251 for i in range(size))
        await store.set("max", value, 3600)
        await store.mset([("mmax", value, 3600)])
        problem = value_problem(await store.get("max"), value, f"a {size:,}-byte value set and read back")
        assert not problem, problem
        problem = values_problem(await store.mget(["mmax"]), [value], f"a {size:,}-byte value mset and read back")
        assert not problem, problem

    async def test_value_over_max_value_size_raises_with_nothing_written(self, store: SessionKVStore) -> None:
        limit = store.capabilities.max_value_size
        if limit is None:
            adapted("no max_value_size declared: checked that values are not capped at 1 MiB instead")
            await store.set("big", b"x" * (UNLIMITED_VALUE + 1), 3600)
            problem = value_problem(await store.get("big"), b"x" * (UNLIMITED_VALUE + 1), "a value over 1 MiB")
            assert not problem, problem
            return
        if limit > VALUE_TEST_CAP:
            adapted(
                f"declared max_value_size of {limit} bytes is too large to exceed in a test: lowered it to "
                f"{VALUE_TEST_CAP} bytes on this store to check the rejection"
            )
            store = _with_value_limit(store, VALUE_TEST_CAP)
            limit = VALUE_TEST_CAP
        await store.set("kept", b"old", 3600)
        big = b"x" * (limit + 1)
        await expect_rejected(store, ValueTooLargeError, "set over max", store.set, "kept", big, 10)
        await expect_rejected(store, ValueTooLargeError, "set over max", store.set, "new", big, 10)
        items = [("new", b"ok", 10.0), ("kept", big, 10.0)]
        await expect_rejected(store, ValueTooLargeError, "mset over max", store.mset, items)
        assert await store.get("kept") == b"old"

    async def test_key_at_max_key_size_works_and_over_it_is_rejected(self, store: SessionKVStore) -> None:
        limit = store.capabilities.max_key_size
        if limit is None:
            adapted(f"no max_key_size declared: checked that a {UNLIMITED_KEY}-byte key works")
            key = "é" * (UNLIMITED_KEY // 2)
            await store.set(key, b"v", 3600)
            assert await store.get(key) == b"v"
            assert await store.keys("") == [key]
            return
        key = "k" * limit
        await store.set(key, b"v", 3600)
        assert await store.get(key) == b"v"
        assert await store.keys("") == [key]
        await expect_rejected(store, ValueError, "key over max_key_size", store.set, key + "k", b"v", 10)

    async def test_max_ttl(self, store: SessionKVStore) -> None:
        limit = store.capabilities.max_ttl
        if limit is None:
            ten_years = 3650 * 86400.0
            adapted("no max_ttl declared: checked that a 10-year ttl works")
            await store.set("k", b"v", ten_years)
            assert await store.get("k") == b"v"
            return
        await store.set("k", b"v", limit)
        assert await store.get("k") == b"v"
        await expect_rejected(store, ValueError, "ttl over max_ttl", store.set, "k", b"w", limit * 2)
