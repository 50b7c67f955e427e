"""Namespaces: the one rule that keeps every namespace's keys apart on a shared server.

A namespace is the prefix of every key a store writes. Prefixes alone would let ``t:`` see the keys
of ``t:b:`` (``"t:" + "b:x"`` is ``"t:b:" + "x"``), so a namespace is ONE segment: non-empty text
without ``:`` or ``/``, ended by one ``:`` or ``/`` (``sessionkv:``, ``myapp-tenant1:``, ``app/``).
The first ``:`` or ``/`` of a stored key then marks where its namespace ends, so no two namespaces
can ever hold the same server key, on any backend, whatever their keys look like.

The published ``RedisSessionKVStore(key_prefix=...)`` keeps its raw prefix (``KeyPrefix``), as
published: drop-in code keeps working, and such prefixes are isolated only when neither is a prefix
of the other.
"""

from __future__ import annotations

from .errors import ConfigurationError

#: The characters that end a namespace (and may appear nowhere else in it).
TERMINATORS = (":", "/")


class KeyPrefix(str):
    """A raw key prefix from the published API: accepted as a namespace unchecked (isolation not guaranteed)."""

    __slots__ = ()


def check_namespace(value: object) -> str:
    """Return ``value`` if it is a valid namespace (see the module docstring), else raise ``ConfigurationError``."""
    if isinstance(value, KeyPrefix):
        return value
    if not isinstance(value, str):
        raise ConfigurationError(f"namespace must be str, not {type(value).__name__}")
    body, end = value[:-1], value[-1:]
    if end not in TERMINATORS or not body or any(t in body for t in TERMINATORS):
        shown = repr(value) if len(value) <= 60 else f"{value[:57]!r}..."
        raise ConfigurationError(
            f"namespace {shown} is not one segment ending in ':' or '/': a namespace has no other ':' or '/' "
            "(e.g. 'myapp:' or 'myapp-tenant1:'), so no namespace can reach into another's keys"
        )
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ConfigurationError(f"namespace is not valid Unicode text: {exc.reason}") from None
    return value


def sub_namespace(base: str, name: str) -> str:
    """A namespace for ``name`` (itself a namespace) inside ``base``'s: ``app:`` + ``t1:`` -> ``app-t1:``.

    Still one segment, so it stays apart from ``base`` and every other namespace.
    """
    return f"{check_namespace(base)[:-1]}-{check_namespace(name)}"
