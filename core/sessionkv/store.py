"""The store contract every backend implements: ``SessionKVStore``.

Contract (the conformance suite certifies exactly this text):

- Keys are non-empty ``str``, any Unicode; keys of at least 1024 UTF-8 bytes must work. A
  backend whose server cannot hold such keys encodes them transparently.
- Values are ``bytes`` (``bytearray``/``memoryview`` accepted and stored as bytes); empty
  values are allowed, up to ``capabilities.max_value_size``; larger ones raise
  ``ValueTooLargeError`` with nothing written.
- ``ttl`` is seconds as a float. ``ttl <= 0``, NaN, infinity or a non-number raise
  ``ValueError``/``TypeError`` before any I/O. A ttl below the backend's ``min_ttl`` rounds UP to
  it (never "no expiry", never an error). TTLs up to at least 365 days work everywhere.
- ``set`` upserts value and ttl. ``only_if_exists=True`` writes only if the key exists and has
  not expired, atomically; it never creates the key.
- ``mset`` applies ``set`` to each item; an empty list does nothing; for a repeated key the
  last item wins.
- ``get``/``mget`` return ``None`` for missing or expired keys; ``mget`` keeps input order,
  accepts repeated keys, and ``mget([]) == []``.
- ``expire(*keys, ttl)`` refreshes the ttl of keys that exist and have not expired; missing
  keys are ignored and never created.
- ``keys(prefix)`` returns every unexpired key starting with ``prefix`` taken literally (no
  glob), each once, in any order; ``""`` lists the whole namespace.
- ``touch(keys, ttl)`` (optional, with a default) does what ``expire`` does and returns the keys
  that were missing; heartbeats use it to re-write only lost records.
- ``delete(keys)`` ignores missing keys; an empty list does nothing.
- Every store has a ``namespace`` (default ``"sessionkv:"``) prepended to keys on the server;
  ``keys()`` returns keys without it and never sees other namespaces.

Validation lives here, once: ``SessionKVStore.__init_subclass__`` wraps each backend's public
methods with the shared checks of ``sessionkv.validation``, so backends receive clean input
(keys checked, values as ``bytes``, ttls as floats >= ``min_ttl``, batches de-duplicated and
non-empty) and never repeat the checks.
"""

from __future__ import annotations

import abc
import functools
from collections.abc import Awaitable, Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, ClassVar, TypeVar

from .capabilities import StoreCapabilities
from .options import DEFAULT_NAMESPACE, NAMESPACE_OPTION, Option
from .url import StoreURL
from .validation import check_items, check_key, check_keys, check_prefix, check_ttl, check_value

S = TypeVar("S", bound="SessionKVStore")
_CHECKED_ATTR = "__sessionkv_checked__"


class SessionKVStore(abc.ABC):
    """An async TTL key-value store holding bytes under str keys (see the module docstring)."""

    #: What this backend can do; instances may replace it (e.g. from server settings).
    capabilities: StoreCapabilities = StoreCapabilities()
    #: Prefix of every key this store writes on the server.
    namespace: str = DEFAULT_NAMESPACE
    #: The options ``from_url`` accepts (query string or keyword overrides).
    options: ClassVar[Mapping[str, Option]] = {"namespace": NAMESPACE_OPTION}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name, wrapper in _WRAPPERS.items():
            impl = cls.__dict__.get(name)
            if impl is not None and not getattr(impl, _CHECKED_ATTR, False):
                checked = functools.wraps(impl)(wrapper(impl))
                setattr(checked, _CHECKED_ATTR, True)
                setattr(cls, name, checked)

    @classmethod
    def from_url(cls: type[S], url: StoreURL, **overrides: Any) -> S:
        """Build a (not yet started) store from a parsed URL; backends opened by URL override this."""
        raise NotImplementedError(f"{cls.__name__} cannot be opened from a URL")

    async def start(self) -> None:
        """Connect to the server; called once before use (``async with`` does it)."""

    async def close(self) -> None:
        """Release connections and background tasks; safe to call twice."""

    async def __aenter__(self: S) -> S:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    @abc.abstractmethod
    async def set(self, key: str, value: bytes, ttl: float, *, only_if_exists: bool = False) -> None:
        """Store ``value`` under ``key`` for ``ttl`` seconds; with ``only_if_exists`` only update a live key."""

    async def mset(self, items: list[tuple[str, bytes, float]]) -> None:
        """Apply ``set`` to every ``(key, value, ttl)``; backends override with one round trip."""
        for key, value, ttl in items:
            await self.set(key, value, ttl)

    @abc.abstractmethod
    async def get(self, key: str) -> bytes | None:
        """The value of ``key``, or ``None`` if it is missing or expired."""

    async def mget(self, keys: list[str]) -> list[bytes | None]:
        """The values of ``keys`` in order (``None`` for missing); backends override with one round trip."""
        return [await self.get(key) for key in keys]

    @abc.abstractmethod
    async def expire(self, *keys: str, ttl: float) -> None:
        """Give each live key a new ttl; missing keys are ignored, never created."""

    async def touch(self, keys: list[str], ttl: float) -> list[str]:
        """Like ``expire``, but return the keys that were missing (and so not refreshed).

        Optional capability for heartbeats: refresh many TTLs and learn which records must be
        re-written. This default reads then expires (two round trips, not atomic: a key that
        expires in between is reported live); backends override it with one exact round trip.
        """
        values = await self.mget(keys)
        live = [key for key, value in zip(keys, values, strict=True) if value is not None]
        if live:
            await self.expire(*live, ttl=ttl)
        return [key for key, value in zip(keys, values, strict=True) if value is None]

    @abc.abstractmethod
    async def keys(self, prefix: str = "") -> list[str]:
        """Every live key starting with ``prefix`` (literal, no glob), namespace stripped, each once."""

    @abc.abstractmethod
    async def delete(self, keys: list[str]) -> None:
        """Delete ``keys``; missing ones are ignored."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} namespace={self.namespace!r}>"


Method = Callable[..., Awaitable[Any]]


def _unique(keys: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(keys)) if len(set(keys)) != len(keys) else list(keys)


def _wrap_set(impl: Method) -> Method:
    async def set(self: SessionKVStore, key: str, value: bytes, ttl: float, *, only_if_exists: bool = False) -> None:
        caps = self.capabilities
        checked_key = check_key(key, caps)
        checked_value = check_value(value, caps)
        checked_ttl = check_ttl(ttl, caps)
        if not isinstance(only_if_exists, bool):
            raise TypeError(f"only_if_exists must be bool, not {type(only_if_exists).__name__}")
        await impl(self, checked_key, checked_value, checked_ttl, only_if_exists=only_if_exists)

    return set


def _wrap_mset(impl: Method) -> Method:
    async def mset(self: SessionKVStore, items: list[tuple[str, bytes, float]]) -> None:
        checked = check_items(items, self.capabilities)
        if not checked:
            return
        if len({key for key, _, _ in checked}) != len(checked):
            checked = list({key: (key, value, ttl) for key, value, ttl in checked}.values())
        await impl(self, checked)

    return mset


def _wrap_get(impl: Method) -> Method:
    async def get(self: SessionKVStore, key: str) -> bytes | None:
        result: bytes | None = await impl(self, check_key(key, self.capabilities))
        return result

    return get


def _wrap_mget(impl: Method) -> Method:
    async def mget(self: SessionKVStore, keys: list[str]) -> list[bytes | None]:
        checked = check_keys(keys, self.capabilities)
        if not checked:
            return []
        unique = _unique(checked)
        values: list[bytes | None] = await impl(self, unique)
        if len(values) != len(unique):
            raise RuntimeError(f"{type(self).__name__}.mget returned {len(values)} values for {len(unique)} keys")
        if len(unique) == len(checked):
            return list(values)
        by_key = dict(zip(unique, values, strict=True))
        return [by_key[key] for key in checked]

    return mget


def _wrap_expire(impl: Method) -> Method:
    async def expire(self: SessionKVStore, *keys: str, ttl: float) -> None:
        checked = _unique(check_keys(keys, self.capabilities))
        checked_ttl = check_ttl(ttl, self.capabilities)
        if checked:
            await impl(self, *checked, ttl=checked_ttl)

    return expire


def _wrap_touch(impl: Method) -> Method:
    async def touch(self: SessionKVStore, keys: list[str], ttl: float) -> list[str]:
        checked = _unique(check_keys(keys, self.capabilities))
        checked_ttl = check_ttl(ttl, self.capabilities)
        if not checked:
            return []
        missing: list[str] = await impl(self, checked, checked_ttl)
        return missing

    return touch


def _wrap_keys(impl: Method) -> Method:
    async def keys(self: SessionKVStore, prefix: str = "") -> list[str]:
        found: list[str] = await impl(self, check_prefix(prefix))
        return _unique(found)

    return keys


def _wrap_delete(impl: Method) -> Method:
    async def delete(self: SessionKVStore, keys: list[str]) -> None:
        checked = _unique(check_keys(keys, self.capabilities))
        if checked:
            await impl(self, checked)

    return delete


_WRAPPERS: dict[str, Callable[[Method], Method]] = {
    "set": _wrap_set,
    "mset": _wrap_mset,
    "get": _wrap_get,
    "mget": _wrap_mget,
    "expire": _wrap_expire,
    "touch": _wrap_touch,
    "keys": _wrap_keys,
    "delete": _wrap_delete,
}

# The base class's own default mset/mget are wrapped too, so a backend that keeps them is checked.
for _name in ("mset", "mget", "touch"):
    _checked = functools.wraps(SessionKVStore.__dict__[_name])(_WRAPPERS[_name](SessionKVStore.__dict__[_name]))
    setattr(_checked, _CHECKED_ATTR, True)
    setattr(SessionKVStore, _name, _checked)
