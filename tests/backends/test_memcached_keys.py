"""MemcachedStore without a server: URL checks, ttl to exptime, and the key encoding."""

from __future__ import annotations

import time

import pytest

from sessionkv import ConfigurationError
from sessionkv_memcached.keyspace import MAX_SERVER_KEY, KeySpace, chain, decode_entries, encode_entry, server_namespace
from sessionkv_memcached.store import MemcachedStore


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("memcached://h1:11211,h2:11211", "one server"),
        ("memcached://user:pw-s3cret@h1:11211", "no user or password"),
        ("memcached://h1:11211/db", "no path"),
        ("memcached://h1?pool_size=0", "pool_size"),
        ("memcached://h1?timeout=-1", "timeout"),
        ("memcached://h1?nope=1", "unknown option"),
    ],
)
def test_bad_urls_are_one_clear_error(url: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as info:
        MemcachedStore(url)
    assert "pw-s3cret" not in str(info.value)


@pytest.mark.parametrize(("ttl", "exptime"), [(1.0, 2), (1.2, 3), (2.0, 3), (59.5, 61), (30 * 86400 - 1, 30 * 86400)])
def test_exptime_is_ceil_plus_one_and_never_zero(ttl: float, exptime: int) -> None:
    assert MemcachedStore()._exptime(ttl) == exptime


def test_exptime_beyond_30_days_is_absolute() -> None:
    store = MemcachedStore()
    ttl = 40 * 86400.0
    assert store._exptime(ttl) - int(time.time()) in range(int(ttl) + 1, int(ttl) + 3)


def test_server_keys_are_valid_and_distinct() -> None:
    space = KeySpace(server_namespace("app:"))
    texts = ["plain", "with space", "é", "x" * 300, "k:plain", "K:plain", "tab\tkey", "a/b/c", "\x00"]
    encoded = [space.data(text) for text in texts]
    assert len(set(encoded)) == len(texts)
    for key in encoded:
        assert len(key) <= MAX_SERVER_KEY and all(0x21 <= byte <= 0x7E for byte in key)
    assert space.data("plain") == b"app:k:plain"
    assert server_namespace("a namespace with spaces") != server_namespace("a namespace with spaces!")


def test_chain_reaches_the_root_deepest_first() -> None:
    assert [(link.directory, link.kind, link.name) for link in chain("s/c1/x")] == [
        ("s/c1/", b"L", "x"),
        ("s/", b"D", "c1"),
        ("", b"D", "s"),
    ]
    assert [(link.directory, link.name) for link in chain("a/")] == [("a/", ""), ("", "a")]


def test_index_entries_round_trip_any_name() -> None:
    names = ["x", "", "line\nbreak", "12:34", "é" * 50, "nul\x00"]
    blob = b"".join(encode_entry(b"L", name) for name in names) + encode_entry(b"D", "sub")
    assert decode_entries(blob) == [(b"L", name) for name in names] + [(b"D", "sub")]
    assert decode_entries(blob + b"L99:torn") == decode_entries(blob)
