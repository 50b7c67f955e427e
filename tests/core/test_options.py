"""Typed backend options from URL query strings and keyword overrides."""

from __future__ import annotations

import pytest

from sessionkv import ConfigurationError, Option, open_store, resolve_options
from sessionkv_memory import MemoryStore

SPEC = {
    "namespace": Option(str, "sessionkv:"),
    "timeout": Option(float, 1.0, positive=True),
    "pool": Option(int, 10, positive=True),
    "tls": Option(bool, False),
}


def test_defaults_query_and_overrides() -> None:
    values = resolve_options(SPEC, {"timeout": "2.5", "tls": "yes"}, {"pool": 3}, scheme="x")
    assert values == {"namespace": "sessionkv:", "timeout": 2.5, "pool": 3, "tls": True}


@pytest.mark.parametrize(
    ("query", "needle"),
    [
        ({"timeout": "soon"}, "timeout"),
        ({"timeout": "-1"}, "timeout"),
        ({"pool": "1.5"}, "pool"),
        ({"tls": "maybe"}, "tls"),
        ({"timeout": "inf"}, "timeout"),
    ],
)
def test_bad_option_text_names_the_option(query: dict[str, str], needle: str) -> None:
    with pytest.raises(ConfigurationError, match=needle):
        resolve_options(SPEC, query, {}, scheme="x")


def test_unknown_option_lists_valid_ones() -> None:
    with pytest.raises(ConfigurationError) as info:
        resolve_options(SPEC, {"namspace": "a"}, {}, scheme="x")
    message = str(info.value)
    assert "namspace" in message
    assert "namespace, pool, timeout, tls" in message


def test_override_type_checked() -> None:
    with pytest.raises(ConfigurationError, match="pool"):
        resolve_options(SPEC, {}, {"pool": "3"}, scheme="x")
    with pytest.raises(ConfigurationError, match="pool"):
        resolve_options(SPEC, {}, {"pool": True}, scheme="x")
    assert resolve_options(SPEC, {}, {"timeout": 2}, scheme="x")["timeout"] == 2.0


def test_memory_store_options_reach_the_store() -> None:
    store = open_store("memory://?namespace=app:&cleanup_interval=0.5")
    assert isinstance(store, MemoryStore)
    assert (store.namespace, store.cleanup_interval) == ("app:", 0.5)
    assert open_store("memory://", namespace="other:").namespace == "other:"
    with pytest.raises(ConfigurationError, match="cleanup_interval"):
        open_store("memory://?cleanup_interval=0")
    with pytest.raises(ConfigurationError, match="path"):
        open_store("memory://name/extra")
