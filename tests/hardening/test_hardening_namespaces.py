"""Namespaces isolate on every backend: two stores with different namespaces on one server never see, overwrite,
expire or delete each other's keys, even through ``keys("")`` and keys or prefixes that look like the other one."""

from __future__ import annotations

import uuid
from urllib.parse import urlencode

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from live_stores import LiveStore

from sessionkv import ConfigurationError, KeyPrefix, check_namespace, open_store

TTL = 60.0


def test_two_namespaces_on_one_server_never_see_or_delete_each_others_keys(live_url: str) -> None:
    tag = uuid.uuid4().hex[:8]
    ns_a, ns_b = f"ns-{tag}-a:", f"ns-{tag}-b:"
    # Keys of A that look like B's namespace (and like B's keys written with it), and plain ones.
    a_items = {"k": b"a", f"{ns_b}k": b"a-looks-b", "shared/1": b"a1", ns_b: b"a-is-ns"}
    b_items = {"k": b"b", f"{ns_a}k": b"b-looks-a", "shared/2": b"b2"}
    with LiveStore(live_url, ns_a) as a, LiveStore(live_url, ns_b) as b:
        a.run(a.store.mset([(key, value, TTL) for key, value in a_items.items()]))
        b.run(b.store.mset([(key, value, TTL) for key, value in b_items.items()]))
        assert sorted(a.run(a.store.keys(""))) == sorted(a_items)
        assert sorted(b.run(b.store.keys(""))) == sorted(b_items)
        assert sorted(a.run(a.store.keys(ns_b))) == sorted([f"{ns_b}k", ns_b])
        assert b.run(b.store.keys(ns_a)) == [f"{ns_a}k"]
        assert b.run(b.store.keys("shared/")) == ["shared/2"]
        assert b.run(b.store.keys(f"ns-{tag}")) == [f"{ns_a}k"]
        assert a.run(a.store.mget(["k", "shared/2", f"{ns_a}k"])) == [b"a", None, None]
        # Deleting, expiring and overwriting in B leaves A alone.
        b.run(b.store.delete(["k", "shared/1", f"{ns_b}k", ns_b]))
        b.run(b.store.expire("k", "shared/1", ttl=2))
        b.run(b.store.set("k", b"b2", TTL, only_if_exists=True))
        b.run(b.store.delete(b.run(b.store.keys(""))))
        assert b.run(b.store.keys("")) == []
        assert a.run(a.store.mget(list(a_items))) == list(a_items.values())
        assert sorted(a.run(a.store.keys(""))) == sorted(a_items)


def test_namespaces_that_would_overlap_are_refused_before_any_io(live_url: str) -> None:
    # "t:" + "b:x" and "t:b:" + "x" would be the same server key: such namespaces are refused, by URL and keyword.
    for bad in ("t:b:", "t/b/", "t", "", "a:b"):
        with pytest.raises(ConfigurationError, match="one segment ending in ':' or '/'"):
            open_store(live_url, namespace=bad)
        with pytest.raises(ConfigurationError, match="one segment ending in ':' or '/'"):
            open_store(f"{live_url}{'&' if '?' in live_url else '?'}{urlencode({'namespace': bad})}")


@settings(max_examples=500, deadline=None)
@given(
    first=st.tuples(st.text(min_size=1, max_size=6), st.sampled_from(":/"), st.text(max_size=6)),
    second=st.tuples(st.text(min_size=1, max_size=6), st.sampled_from(":/"), st.text(max_size=6)),
)
def test_no_two_accepted_namespaces_share_a_server_key(
    first: tuple[str, str, str], second: tuple[str, str, str]
) -> None:
    """The rule's proof, over generated namespaces and keys: namespace + key is never another namespace's key."""
    accepted = []
    for body, end, key in (first, second):
        try:
            accepted.append((check_namespace(body + end), key))
        except ConfigurationError:
            continue
    if len(accepted) == 2:
        (ns_a, key_a), (ns_b, key_b) = accepted
        assume(ns_a != ns_b)
        assert ns_a + key_a != ns_b + key_b
        assert not (ns_a + key_a).startswith(ns_b) and not (ns_b + key_b).startswith(ns_a)


def test_a_published_key_prefix_is_kept_raw() -> None:
    """``RedisSessionKVStore(key_prefix=...)`` keeps any prefix, as published (documented: isolation not guaranteed)."""
    from sessionkv.compat import RedisSessionKVStore

    assert RedisSessionKVStore(url="redis://127.0.0.1:1/0", key_prefix="myapp:sessions:").namespace == "myapp:sessions:"
    assert isinstance(RedisSessionKVStore(url="redis://127.0.0.1:1/0").namespace, KeyPrefix)
