"""The ``mset`` batch check: plain and compiled agree, a stale build is ignored, CI runs the compiled one."""

from __future__ import annotations

import importlib
import math
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from servers.availability import in_ci
from sessionkv import _batch_check, batch_check
from sessionkv.validation import check_items


def compiled_module() -> ModuleType:
    """The compiled copy; locally a missing build skips, under CI it fails (the install must compile it)."""
    try:
        return importlib.import_module(batch_check.COMPILED_MODULE)
    except ImportError:
        reason = "the install did not compile the batch check (no C compiler or Python headers?)"
        if in_ci():
            pytest.fail(f"{reason}; CI installs with a compiler, so this is an error", pytrace=False)
        pytest.skip(reason)


def implementations() -> list[Any]:
    return [
        pytest.param(_batch_check.plain_triples, id="plain"),
        pytest.param(lambda *args: compiled_module().plain_triples(*args), id="compiled"),
    ]


def test_the_current_build_is_the_one_that_runs() -> None:
    compiled = compiled_module()
    assert batch_check.COMPILED
    assert batch_check.plain_triples is compiled.plain_triples
    assert type(batch_check.plain_triples).__name__ != "function"  # a builtin: mypyc's C, not bytecode


class Text(str):
    pass


class Data(bytes):
    pass


class Seconds(float):
    pass


REFUSED = {
    "a list, not a tuple": [["k", b"v", 1.0]],
    "two items": [("k", b"v")],
    "four items": [("k", b"v", 1.0, 0)],
    "bytearray value": [("k", bytearray(b"v"), 1.0)],
    "memoryview value": [("k", memoryview(b"v"), 1.0)],
    "int ttl": [("k", b"v", 1)],
    "bool ttl": [("k", b"v", True)],
    "nan ttl": [("k", b"v", math.nan)],
    "infinite ttl": [("k", b"v", math.inf)],
    "zero ttl": [("k", b"v", 0.0)],
    "negative ttl": [("k", b"v", -1.0)],
    "ttl under the minimum": [("k", b"v", 0.5)],
    "ttl at the maximum": [("k", b"v", 100.0)],
    "empty key": [("", b"v", 1.0)],
    "bytes key": [(b"k", b"v", 1.0)],
    "str subclass key": [(Text("k"), b"v", 1.0)],
    "bytes subclass value": [("k", Data(b"v"), 1.0)],
    "float subclass ttl": [("k", b"v", Seconds(1.0))],
    "value over the limit": [("k", b"x" * 11, 1.0)],
    "one bad item among good ones": [("a", b"v", 1.0), ("b", b"v", 1), ("c", b"v", 1.0)],
}


@pytest.mark.parametrize("check", implementations())
@pytest.mark.parametrize("items", REFUSED.values(), ids=list(REFUSED))
def test_a_batch_the_full_checks_would_change_is_refused(check: Any, items: list[Any]) -> None:
    assert check(items, 1.0, 100.0, 10) is False


@pytest.mark.parametrize("check", implementations())
def test_a_plain_batch_passes(check: Any) -> None:
    items = [("a", b"", 1.0), ("é", b"x" * 10, 99.5), ("c", b"v", 1.0)]  # key encodings are the caller's check
    assert check(items, 1.0, 100.0, 10) is True
    assert check([("k", b"x" * 10_000, 1e9)], 1e-6, math.inf, -1) is True


ANY_ITEM = st.one_of(
    st.tuples(st.text(max_size=3), st.binary(max_size=4), st.floats()),
    st.tuples(st.text(max_size=3), st.binary(max_size=4), st.integers(-2, 2)),
    st.tuples(st.binary(max_size=2), st.text(max_size=2), st.floats()),
    st.lists(st.one_of(st.text(max_size=2), st.binary(max_size=2), st.floats()), max_size=4),
    st.lists(st.none(), max_size=3).map(tuple),
)


@given(
    items=st.lists(ANY_ITEM, max_size=6),
    low=st.floats(0, 10),
    high=st.floats(0, math.inf),
    max_value=st.integers(-1, 5),
)
def test_plain_and_compiled_agree(items: list[Any], low: float, high: float, max_value: int) -> None:
    compiled = compiled_module()
    assert compiled.plain_triples(items, low, high, max_value) is _batch_check.plain_triples(
        items, low, high, max_value
    )


@given(items=st.lists(ANY_ITEM, min_size=1, max_size=6))
def test_the_fast_path_returns_what_the_full_checks_return(items: list[Any]) -> None:
    try:
        full = [(check_key_value_ttl(item)) for item in items]
    except (TypeError, ValueError):
        full = None
    try:
        checked = check_items(items)
    except (TypeError, ValueError):
        checked = None
    assert checked == full
    if checked is not None:
        assert all(type(item) is tuple for item in checked)


def check_key_value_ttl(item: Any) -> tuple[str, bytes, float]:
    """The item-by-item rules written out: a 3-sequence of a non-empty ASCII-or-UTF-8 str, bytes-like, ttl > 0."""
    if not isinstance(item, (tuple, list)) or len(item) != 3:
        raise TypeError("not a 3-tuple")
    key, value, ttl = item
    if not isinstance(key, str) or not key:
        raise TypeError("bad key")
    key.encode("utf-8")  # UnicodeEncodeError is a ValueError
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise TypeError("bad value")
    if isinstance(ttl, bool) or not isinstance(ttl, (int, float)):
        raise TypeError("bad ttl")
    if not (0 < ttl < math.inf):
        raise ValueError("bad ttl")
    return key, bytes(value), float(ttl)


def test_a_build_from_another_source_is_ignored(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    compiled = compiled_module()
    source = Path(_batch_check.__file__).read_bytes()
    same, edited = tmp_path / "same.py", tmp_path / "edited.py"
    same.write_bytes(source)
    edited.write_bytes(source + b"# edited\n")

    monkeypatch.setattr(_batch_check, "__file__", str(same))
    assert batch_check._current_compiled_check() is compiled.plain_triples
    monkeypatch.setattr(_batch_check, "__file__", str(edited))
    assert batch_check._current_compiled_check() is None
