"""Drop-in names of the published session-registry API: change the import line, keep the code.

Code written against the published design (``SessionRegistry``, ``SessionKVStore``,
``InMemorySessionKVStore``, ``RedisSessionKVStore``, ``SessionInfo``) runs on sessionkv after
replacing its import of those names with ``from sessionkv.compat import ...``.

- ``SessionKVStore`` here is the published abstract class (public ``set``/``get``/... to
  override). Custom stores subclassing it are passed to ``SessionRegistry`` as they are (it wraps
  them with ``sessionkv.adapt``), and every sessionkv store counts as one (``isinstance`` works).
- ``InMemorySessionKVStore`` and ``RedisSessionKVStore`` are sessionkv's memory and Redis stores
  with the published constructors; they are loaded through the backend catalog on first use, so
  importing this module needs no client library (a missing one names its ``pip install``).
"""

from __future__ import annotations

import abc
import importlib
from typing import Any

from .discovery import default_catalog
from .registry import SessionInfo, SessionRegistry
from .store import SessionKVStore as _SessionKVStore


class SessionKVStore(abc.ABC):
    """The published store interface: subclass it and implement every method (bytes in, bytes out)."""

    @abc.abstractmethod
    async def start(self) -> None:
        """Open connections; called when the registry starts."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Close connections; called when the registry stops."""

    @abc.abstractmethod
    async def set(self, key: str, value: bytes, ttl: float, *, only_if_exists: bool = False) -> None:
        """Store ``value`` for ``ttl`` seconds; with ``only_if_exists``, skip a missing key."""

    @abc.abstractmethod
    async def mset(self, items: list[tuple[str, bytes, float]]) -> None:
        """Store several ``(key, value, ttl)`` items."""

    @abc.abstractmethod
    async def get(self, key: str) -> bytes | None:
        """The value, or ``None`` if missing or expired."""

    @abc.abstractmethod
    async def mget(self, keys: list[str]) -> list[bytes | None]:
        """The values in order, ``None`` for missing keys."""

    @abc.abstractmethod
    async def expire(self, *keys: str, ttl: float) -> None:
        """Refresh the ttl of existing keys."""

    @abc.abstractmethod
    async def keys(self, prefix: str) -> list[str]:
        """Every live key starting with ``prefix``."""

    @abc.abstractmethod
    async def delete(self, keys: list[str]) -> None:
        """Delete keys; missing ones are ignored."""


SessionKVStore.register(_SessionKVStore)  # type: ignore[type-abstract]

#: published name -> (URL scheme whose extra it needs, "module:attribute" of its class)
_PUBLISHED_STORES = {
    "InMemorySessionKVStore": ("memory", "sessionkv_memory.published:InMemorySessionKVStore"),
    "RedisSessionKVStore": ("redis", "sessionkv_redis.published:RedisSessionKVStore"),
}


def __getattr__(name: str) -> Any:
    """Load a published store class on first use, through the backend catalog (checks its extra)."""
    if name not in _PUBLISHED_STORES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    scheme, path = _PUBLISHED_STORES[name]
    default_catalog.load_factory(scheme)  # raises MissingExtraError naming the pip command
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)


__all__ = ["InMemorySessionKVStore", "RedisSessionKVStore", "SessionInfo", "SessionKVStore", "SessionRegistry"]  # noqa: F822
