"""Property-based keys and values through every backend: each round-trips exactly, or the call raises the
documented error (``ValueError``/``TypeError``/``ValueTooLargeError``) with nothing written and no other key
disturbed. A sentinel key written first must read back unchanged after every example."""

from __future__ import annotations

from hardening_support import namespace
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from live_stores import LiveStore

from sessionkv import SessionKVStore, ValueTooLargeError
from sessionkv.validation import check_key

#: The errors the store contract documents for bad keys and values (raised before any I/O).
INPUT_ERRORS = (ValueError, TypeError, ValueTooLargeError)
SENTINEL, SENTINEL_VALUE = "sentinel", b"\x00sentinel\xff"
TTL = 60.0

keys = st.one_of(
    st.text(max_size=24),  # any code point, lone surrogates included (not UTF-8: refused)
    st.text(st.characters(codec="utf-8"), min_size=1, max_size=24),
    st.sampled_from(
        ["*", "?", "[a-z]", "\\", "a/b", "/", "//", " ", "\x00", "\n", "%", "%00", "h-x:k", "sessionkv:k", "\ud800"]
    ),
    st.sampled_from(["k" * 1024, "\u00e9" * 600, "\U0001f600" * 300, "/" * 1100]),  # >= 1024 UTF-8 bytes must work
    st.sampled_from([b"bytes-key", 7, None]),  # not str: TypeError
)
values = st.one_of(st.binary(max_size=300), st.sampled_from([b"", b"\x00" * 5000, bytes(range(256)) * 20]))


def valid_key(key: object, store: SessionKVStore) -> bool:
    try:
        check_key(key, store.capabilities)
    except INPUT_ERRORS:
        return False
    return True


async def one_item(store: SessionKVStore, key: object, value: bytes) -> None:
    """``set`` then ``get``/``mget``/``keys`` of one generated item; or the documented error and nothing written."""
    before = set(await store.keys(""))
    try:
        await store.set(key, value, TTL)  # type: ignore[arg-type]
    except INPUT_ERRORS:
        assert not valid_key(key, store), f"{key!r} is a valid key, yet set refused it"
        assert set(await store.keys("")) == before, f"a refused set of {key!r} wrote something"
    else:
        assert isinstance(key, str)
        assert await store.get(key) == value
        assert await store.mget([key, SENTINEL, key]) == [value, SENTINEL_VALUE, value]
        assert key in await store.keys(key), f"keys({key!r}) does not list it"
        assert set(await store.keys("")) == before | {key}
        if key != SENTINEL:
            await store.delete([key])
            assert await store.get(key) is None
    assert await store.get(SENTINEL) == SENTINEL_VALUE, "another key was disturbed"


async def many_items(store: SessionKVStore, items: list[tuple[object, bytes]]) -> None:
    """``mset`` of generated items: all written (last wins per key), or the documented error and none written."""
    before = set(await store.keys(""))
    try:
        await store.mset([(key, value, TTL) for key, value in items])  # type: ignore[misc]
    except INPUT_ERRORS:
        assert not all(valid_key(key, store) for key, _ in items), "mset refused only valid keys"
        assert set(await store.keys("")) == before, "a refused mset wrote some of its items"
    else:
        expected = {key: value for key, value in items}
        written = [key for key in expected if isinstance(key, str)]
        assert await store.mget(written) == [expected[key] for key in written]
        await store.delete([key for key in written if key != SENTINEL])
    assert await store.get(SENTINEL) == SENTINEL_VALUE, "another key was disturbed"


def fresh_sentinel(live: LiveStore) -> None:
    live.run(live.store.set(SENTINEL, SENTINEL_VALUE, TTL))


EXAMPLES = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


def test_generated_keys_and_values_round_trip_or_are_refused_with_nothing_written(live_url: str) -> None:
    with LiveStore(live_url, namespace("in")) as live:
        fresh_sentinel(live)

        @EXAMPLES
        @given(key=keys, value=values)
        def check(key: object, value: bytes) -> None:
            live.run(one_item(live.store, key, value))

        check()


def test_generated_batches_are_written_whole_or_not_at_all(live_url: str) -> None:
    with LiveStore(live_url, namespace("batch")) as live:
        fresh_sentinel(live)

        @EXAMPLES
        @given(items=st.lists(st.tuples(keys, values), min_size=1, max_size=4))
        def check(items: list[tuple[object, bytes]]) -> None:
            live.run(many_items(live.store, items))

        check()


def test_a_value_over_the_declared_maximum_is_refused_with_nothing_written(live_url: str) -> None:
    with LiveStore(live_url, namespace("big")) as live:
        store = live.store
        limit = store.capabilities.max_value_size
        if limit is None:
            return  # no declared maximum (memory://): nothing to refuse
        fresh_sentinel(live)
        too_big = b"x" * (limit + 1)
        for attempt in (store.set("big", too_big, TTL), store.mset([("small", b"v", TTL), ("big", too_big, TTL)])):
            try:
                live.run(attempt)
            except ValueTooLargeError:
                pass
            else:
                raise AssertionError(f"a value of {limit + 1} bytes was accepted over the maximum of {limit}")
        assert sorted(live.run(store.keys(""))) == [SENTINEL]
        assert live.run(store.get(SENTINEL)) == SENTINEL_VALUE
        at_limit = b"y" * min(limit, 1024 * 1024)
        live.run(store.set("at-limit", at_limit, TTL))
        assert live.run(store.get("at-limit")) == at_limit
