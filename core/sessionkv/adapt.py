"""``adapt(store)``: make a store written against the published interface a full ``SessionKVStore``.

A "stranger" is any object with the published methods (``start``, ``close``, ``set``, ``mset``,
``get``, ``mget``, ``expire``, ``keys``, ``delete``), whatever it subclasses. The adapter gives it
the shared validation, de-duplication and the defaults of ``touch`` and ``items``; ``capabilities`` may be a
``StoreCapabilities``, a plain mapping of its fields (so a stranger need not import sessionkv), or
absent ("nothing declared": the defaults of ``StoreCapabilities``). A stranger that counts what its
listings examine exposes an int ``keys_examined``; the adapter reads it live.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from .capabilities import StoreCapabilities
from .namespaces import KeyPrefix
from .options import DEFAULT_NAMESPACE
from .store import SessionKVStore
from .versioned import Version, Versioned

#: The methods the published interface requires of every store.
PUBLISHED_METHODS = ("start", "close", "set", "mset", "get", "mget", "expire", "keys", "delete")
#: Methods sessionkv adds that a stranger may implement; the adapter falls back to defaults otherwise.
OPTIONAL_METHODS = ("touch", "items", "add", "get_versioned", "cas", "delete_if")
#: The optional methods that make up versioned (concurrency) support: all or nothing.
VERSIONED_METHODS = ("add", "get_versioned", "cas", "delete_if")


def missing_methods(obj: object) -> list[str]:
    """The published methods ``obj`` lacks (empty: it can be adapted)."""
    return [name for name in PUBLISHED_METHODS if not callable(getattr(obj, name, None))]


def declared_capabilities(obj: object) -> StoreCapabilities | None:
    """``obj.capabilities`` as ``StoreCapabilities``; ``None`` when it declares none.

    A mapping uses the field names of ``StoreCapabilities``; an unknown name is a ``TypeError``
    that lists the valid ones.
    """
    declared = getattr(obj, "capabilities", None)
    if declared is None or isinstance(declared, StoreCapabilities):
        return declared
    if isinstance(declared, Mapping):
        fields = set(StoreCapabilities.__dataclass_fields__)
        unknown = sorted(set(declared) - fields)
        if unknown:
            raise TypeError(
                f"{type(obj).__name__}.capabilities has unknown field(s) {unknown}; valid: {sorted(fields)}"
            )
        return StoreCapabilities(**dict(declared))
    raise TypeError(
        f"{type(obj).__name__}.capabilities must be a sessionkv.StoreCapabilities or a mapping of its fields, "
        f"not {type(declared).__name__}"
    )


class AdaptedStore(SessionKVStore):
    """A ``SessionKVStore`` that validates input, then calls the published methods of ``inner``."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        caps = declared_capabilities(inner)
        #: False when the stranger declared no capabilities (the defaults are in force).
        self.declared = caps is not None
        self.capabilities = caps if caps is not None else StoreCapabilities()
        namespace = getattr(inner, "namespace", None)
        # the wrapped store owns its prefix (whatever its shape): kept as is, as a raw key prefix
        self.namespace = KeyPrefix(namespace) if isinstance(namespace, str) else DEFAULT_NAMESPACE
        self._native_touch = callable(getattr(inner, "touch", None))
        # a coroutine function only: a store that is also a mapping has a plain ``items()`` of another meaning
        self._native_items = inspect.iscoroutinefunction(getattr(inner, "items", None))
        declared_system = getattr(inner, "db_system_name", None)  # OpenTelemetry db.system.name
        self.db_system_name = declared_system if isinstance(declared_system, str) else "other_sql"

    @property
    def keys_examined(self) -> int | None:
        """The stranger's own ``keys_examined`` counter, read live; ``None`` when it has none (or not an int)."""
        value = getattr(self.inner, "keys_examined", None)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    @keys_examined.setter
    def keys_examined(self, value: int | None) -> None:
        self.inner.keys_examined = value

    @property
    def implements(self) -> dict[str, bool]:
        """Which optional methods the stranger implements itself."""
        found = {name: callable(getattr(self.inner, name, None)) for name in OPTIONAL_METHODS}
        return found | {"items": self._native_items}

    async def _start(self) -> None:
        await self.inner.start()

    async def _close(self) -> None:
        await self.inner.close()

    async def _set(self, key: str, value: bytes, ttl: float, *, only_if_exists: bool) -> None:
        await self.inner.set(key, value, ttl, only_if_exists=only_if_exists)

    async def _mset(self, items: list[tuple[str, bytes, float]]) -> None:
        await self.inner.mset(items)

    async def _get(self, key: str) -> bytes | None:
        value: bytes | None = await self.inner.get(key)
        return value

    async def _mget(self, keys: list[str]) -> list[bytes | None]:
        return list(await self.inner.mget(keys))

    async def _expire(self, keys: list[str], ttl: float) -> None:
        await self.inner.expire(*keys, ttl=ttl)

    async def _touch(self, keys: list[str], ttl: float) -> list[str]:
        if self._native_touch:
            return list(await self.inner.touch(keys, ttl))
        return await super()._touch(keys, ttl)

    async def _keys(self, prefix: str) -> list[str]:
        return list(await self.inner.keys(prefix))

    async def _items(self, prefix: str) -> list[tuple[str, bytes]]:
        if self._native_items:
            return [(key, value) for key, value in await self.inner.items(prefix)]
        return await super()._items(prefix)

    def _supports_versions(self) -> bool:
        return all(self.implements[name] for name in VERSIONED_METHODS)

    async def _add(self, key: str, value: bytes, ttl: float) -> bool:
        if not self._supports_versions():
            raise self._unsupported("add")
        return bool(await self.inner.add(key, value, ttl))

    async def _get_versioned(self, key: str) -> Versioned | None:
        if not self._supports_versions():
            raise self._unsupported("get_versioned")
        found = await self.inner.get_versioned(key)
        return None if found is None else Versioned(bytes(found.value), found.version)

    async def _cas(self, key: str, value: bytes, ttl: float, version: Version | None) -> Version | None:
        if not self._supports_versions():
            raise self._unsupported("cas")
        written: Version | None = await self.inner.cas(key, value, ttl, version=version)
        return written

    async def _delete_if(self, key: str, version: Version) -> bool:
        if not self._supports_versions():
            raise self._unsupported("delete_if")
        return bool(await self.inner.delete_if(key, version))

    async def _delete(self, keys: list[str]) -> None:
        await self.inner.delete(keys)

    def __repr__(self) -> str:
        return f"<adapted {self.inner!r}>"


def adapt(store: Any) -> SessionKVStore:
    """``store`` itself if it is a ``SessionKVStore``, else an ``AdaptedStore`` around it.

    Raises ``TypeError`` naming the missing methods when ``store`` lacks the published interface.
    """
    if isinstance(store, SessionKVStore):
        return store
    missing = missing_methods(store)
    if missing:
        raise TypeError(
            f"{type(store).__name__} is not a session store: it lacks {', '.join(missing)} "
            f"(the published interface is {', '.join(PUBLISHED_METHODS)})"
        )
    return AdaptedStore(store)
