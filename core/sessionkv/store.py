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
  Listing a *directory* (a prefix ending in ``/``) costs that directory's entries, not the
  store's size, when ``capabilities.directory_listing`` is ``"indexed"`` (every built-in backend
  with its default options, and the SQLite example); ``"hash_tagged"`` (Redis Cluster) keeps that
  promise only for directories containing a complete ``{tag}`` and scans otherwise; ``"scan"``
  (the default) promises nothing. A backend declaring an index counts in ``keys_examined`` the
  stored entries its server examined for each ``keys()`` call, and the suite certifies it without
  timing: among 300 other keys, listing a directory of k keys examines at most 2k + 20 entries.
  Each backend documents what other prefixes cost. The registry lists one call's sessions this way
  (its keys are ``s/{<call>}/<session>``: tagged, so a call's lookup costs the call on a cluster too).
- ``touch(keys, ttl)`` (optional, with a default) does what ``expire`` does and returns the keys
  that were missing; heartbeats use it to re-write only lost records.
- ``items(prefix)`` (optional, with a default) returns ``(key, value)`` for every unexpired key
  starting with ``prefix``, each once, in any order: what ``keys(prefix)`` then ``mget`` give,
  without the keys that expire in between. The default is exactly those two calls; a backend
  overrides it with one round trip (Redis: one script). The registry reads a call's sessions so.
- ``delete(keys)`` ignores missing keys; an empty list does nothing.
- Every store has a ``namespace`` (default ``"sessionkv:"``) prepended to keys on the server;
  ``keys()`` returns keys without it and never sees other namespaces. A namespace is one segment
  ending in ``:`` or ``/`` (``sessionkv.namespaces``), so no two namespaces share a server key.
- Footprint: whatever a backend writes on its server to serve a key (index entries and index keys,
  leases, rows, version records) goes away when the key does, by expiry or ``delete``, within at
  most one ttl resolution, one sweep interval or the next write to the same directory (each
  backend's docs say which). A namespace whose keys have all expired costs its server a small
  constant, however many keys it ever held; listings stay exact meanwhile. ``tests/soak/`` counts
  this on each built-in backend's real server.
- Lifecycle: a store opens on its first ``start()`` and closes when every ``start()`` has been
  matched by a ``close()``, so several owners (registries, the application) can share one object.
- Concurrency (optional; a backend without it raises ``UnsupportedOperationError``):
  ``add(key, value, ttl) -> bool`` creates only if the key is absent or expired, atomically.
  ``get_versioned(key) -> Versioned | None`` gives the value and an opaque version that changes on
  every write of the key (``set``, ``mset``, ``only_if_exists``, ``add``, ``cas``; ``expire`` and
  ``touch`` may keep it). ``cas(key, value, ttl, *, version) -> version | None`` writes only if the
  key's version still equals ``version`` (``None``: only if absent or expired) and returns the new
  version, or ``None`` with nothing written. ``delete_if(key, version) -> bool`` deletes only if
  the version still matches. ``capabilities.linearizable`` and ``capabilities.fencing`` say how
  far these can be trusted; ``store.lease(name, ttl)`` builds a lease with a fencing token on them.

How a backend is written (a template method, as fsspec's ``open``/``_open``): the public methods
above are defined once, here, and marked ``@final``. Each validates its input with
``sessionkv.validation`` (keys checked, values as ``bytes``, ttls as floats >= ``min_ttl``,
batches de-duplicated and non-empty) and then calls the protected method of the same name that a
backend implements: ``_set``, ``_get``, ``_expire``, ``_keys``, ``_delete`` (required) and
``_mset``, ``_mget``, ``_touch``, ``_items``, ``_start``, ``_close`` (optional, with the defaults below).
A backend never re-checks input; mypy flags one that overrides a public method, and defining one
raises ``TypeError`` at class creation. A store written against the published method names (that
does not subclass this class) is wrapped by ``sessionkv.adapt`` to get the same validation.
"""

from __future__ import annotations

import abc
import operator
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, ClassVar, TypeVar, final

from .capabilities import StoreCapabilities
from .errors import UnsupportedOperationError
from .lease import Lease
from .namespaces import check_namespace
from .options import DEFAULT_NAMESPACE, NAMESPACE_OPTION, Option
from .telemetry import traced
from .url import StoreURL
from .validation import check_items, check_key, check_keys, check_prefix, check_ttl, check_value
from .versioned import Version, Versioned

S = TypeVar("S", bound="SessionKVStore")

#: The public methods defined once in the base class; backends implement ``_<name>`` instead.
TEMPLATE_METHODS = (
    "start",
    "close",
    "set",
    "mset",
    "get",
    "mget",
    "expire",
    "touch",
    "keys",
    "items",
    "delete",
    "add",
    "get_versioned",
    "cas",
    "delete_if",
    "lease",
)


_first = operator.itemgetter(0)
_INF = float("inf")


def unique(keys: Sequence[str]) -> list[str]:
    """``keys`` without repeats, first occurrence kept, in order."""
    return list(dict.fromkeys(keys)) if len(set(keys)) != len(keys) else list(keys)


class SessionKVStore(abc.ABC):
    """An async TTL key-value store holding bytes under str keys (see the module docstring)."""

    #: What this backend can do; instances may replace it (e.g. from server settings).
    capabilities: StoreCapabilities = StoreCapabilities()
    #: Prefix of every key this store writes on the server (see ``namespace``).
    _namespace: str = DEFAULT_NAMESPACE
    #: The options ``from_url`` accepts (query string or keyword overrides).
    options: ClassVar[Mapping[str, Option]] = {"namespace": NAMESPACE_OPTION}
    #: True when ``_mset`` applies items in order, so a repeated key's last item wins by itself and
    #: the base skips de-duplicating the batch (one pass less); ``False``: ``_mset`` gets distinct keys.
    _mset_in_order: ClassVar[bool] = False
    #: Stored entries (keys or index entries) the server examined to answer ``keys()`` since the store
    #: was built, counted by the backend for the suite's listing-cost check; ``None``: not counted.
    keys_examined: int | None = None
    #: How many ``start()`` calls are not yet matched by a ``close()`` (see "Lifecycle").
    _users: int = 0
    #: The OpenTelemetry ``db.system.name`` of this backend's calls (``sessionkv.telemetry``); ``None``: not
    #: recorded (a store made of other stores, whose own calls are).
    db_system_name: str | None = "other_sql"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Refuse a subclass that redefines a public method: it would skip the shared validation."""
        super().__init_subclass__(**kwargs)
        overridden = [name for name in TEMPLATE_METHODS if name in cls.__dict__]
        if overridden:
            names = ", ".join(overridden)
            impls = ", ".join(f"_{name}" for name in overridden)
            raise TypeError(
                f"{cls.__qualname__} defines {names}: SessionKVStore's public methods validate input and then "
                f"call protected ones, so implement {impls} instead (or, for a store written against the "
                "published interface, wrap it with sessionkv.adapt(store))"
            )

    @property
    def namespace(self) -> str:
        """Prefix of every key this store writes on the server: one segment ending in ``:`` or ``/``.

        Setting it checks the rule of ``sessionkv.namespaces`` (``ConfigurationError`` otherwise),
        so no backend can be given a namespace that overlaps another's keys.
        """
        return self._namespace

    @namespace.setter
    def namespace(self, value: str) -> None:
        self._namespace = check_namespace(value)

    @classmethod
    def from_url(cls: type[S], url: StoreURL, **overrides: Any) -> S:
        """Build a (not yet started) store from a parsed URL; backends opened by URL override this."""
        raise NotImplementedError(f"{cls.__name__} cannot be opened from a URL")

    # -- lifecycle -------------------------------------------------------------------------------

    @property
    def started(self) -> bool:
        """True between the first ``start()`` and the ``close()`` that matches the last one."""
        return self._users > 0

    @final
    async def start(self) -> None:
        """Open the store (``_start``) on the first call; later calls only count another user."""
        if self._users == 0:
            await self._start()
        self._users += 1

    @final
    async def close(self) -> None:
        """Count one user out; the last one closes the store (``_close``). Extra calls do nothing."""
        if self._users == 0:
            return
        self._users -= 1
        if self._users == 0:
            await self._close()

    async def __aenter__(self: S) -> S:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def _start(self) -> None:
        """Connect to the server (default: nothing to do)."""

    async def _close(self) -> None:
        """Release connections and background tasks (default: nothing to do)."""

    # -- the published operations: validate once, then call the backend ------------------------

    @final
    async def set(self, key: str, value: bytes, ttl: float, *, only_if_exists: bool = False) -> None:
        """Store ``value`` under ``key`` for ``ttl`` seconds; with ``only_if_exists`` only update a live key."""
        caps = self.capabilities
        if (  # the fast path, inlined (it is most of set's cost on memory://): the checks would change nothing
            type(key) is str
            and type(value) is bytes
            and type(ttl) is float
            and (only_if_exists is False or only_if_exists is True)
            and caps.plain
            and caps.min_ttl <= ttl < _INF
            and key
            and key.isascii()
        ):
            await traced(self, "set", self._set(key, value, ttl, only_if_exists=only_if_exists))
            return
        checked = (check_key(key, caps), check_value(value, caps), check_ttl(ttl, caps))
        if not isinstance(only_if_exists, bool):
            raise TypeError(f"only_if_exists must be bool, not {type(only_if_exists).__name__}")
        await traced(self, "set", self._set(*checked, only_if_exists=only_if_exists))

    @final
    async def mset(self, items: list[tuple[str, bytes, float]]) -> None:
        """Apply ``set`` to every ``(key, value, ttl)``; a repeated key's last item wins."""
        checked = check_items(items, self.capabilities)
        if not checked:
            return
        if not self._mset_in_order and len(set(map(_first, checked))) != len(checked):
            checked = list({key: (key, value, ttl) for key, value, ttl in checked}.values())
        await traced(self, "mset", self._mset(checked), len(checked))

    @final
    async def get(self, key: str) -> bytes | None:
        """The value of ``key``, or ``None`` if it is missing or expired."""
        caps = self.capabilities
        if type(key) is str and key and key.isascii() and caps.plain:  # check_key would return it unchanged
            return await traced(self, "get", self._get(key))
        return await traced(self, "get", self._get(check_key(key, caps)))

    @final
    async def mget(self, keys: list[str]) -> list[bytes | None]:
        """The values of ``keys`` in order (``None`` for missing); repeated keys are read once."""
        checked = check_keys(keys, self.capabilities)
        if not checked:
            return []
        distinct = unique(checked)
        values = await traced(self, "mget", self._mget(distinct), len(distinct))
        if len(values) != len(distinct):
            raise RuntimeError(f"{type(self).__name__}._mget returned {len(values)} values for {len(distinct)} keys")
        if len(distinct) == len(checked):
            return list(values)
        by_key = dict(zip(distinct, values, strict=True))
        return [by_key[key] for key in checked]

    @final
    async def expire(self, *keys: str, ttl: float) -> None:
        """Give each live key a new ttl; missing keys are ignored, never created."""
        checked = unique(check_keys(keys, self.capabilities))
        checked_ttl = check_ttl(ttl, self.capabilities)
        if checked:
            await traced(self, "expire", self._expire(checked, checked_ttl), len(checked))

    @final
    async def touch(self, keys: list[str], ttl: float) -> list[str]:
        """Like ``expire``, but return the keys that were missing (and so not refreshed)."""
        checked = unique(check_keys(keys, self.capabilities))
        checked_ttl = check_ttl(ttl, self.capabilities)
        if not checked:
            return []
        return await traced(self, "touch", self._touch(checked, checked_ttl), len(checked))

    @final
    async def keys(self, prefix: str = "") -> list[str]:
        """Every live key starting with ``prefix`` (literal, no glob), namespace stripped, each once."""
        return unique(await traced(self, "keys", self._keys(check_prefix(prefix))))

    @final
    async def items(self, prefix: str = "") -> list[tuple[str, bytes]]:
        """``(key, value)`` of every live key starting with ``prefix``, namespace stripped, each key once."""
        found = await traced(self, "items", self._items(check_prefix(prefix)))
        first: dict[str, bytes] = {}
        for key, value in found:
            first.setdefault(key, value)  # a repeated key: its first pair kept
        return list(first.items())

    @final
    async def delete(self, keys: list[str]) -> None:
        """Delete ``keys``; missing ones are ignored."""
        checked = unique(check_keys(keys, self.capabilities))
        if checked:
            await traced(self, "delete", self._delete(checked), len(checked))

    @final
    async def add(self, key: str, value: bytes, ttl: float) -> bool:
        """Create ``key`` only if it is absent or expired, atomically; True if this call wrote it."""
        caps = self.capabilities
        return await traced(
            self, "add", self._add(check_key(key, caps), check_value(value, caps), check_ttl(ttl, caps))
        )

    @final
    async def get_versioned(self, key: str) -> Versioned | None:
        """The live value of ``key`` with its version, or ``None``."""
        return await traced(self, "get_versioned", self._get_versioned(check_key(key, self.capabilities)))

    @final
    async def cas(self, key: str, value: bytes, ttl: float, *, version: Version | None) -> Version | None:
        """Write only if ``key``'s version equals ``version`` (``None``: absent); the new version, or ``None``."""
        caps = self.capabilities
        checked = (check_key(key, caps), check_value(value, caps), check_ttl(ttl, caps))
        return await traced(self, "cas", self._cas(*checked, version))

    @final
    async def delete_if(self, key: str, version: Version) -> bool:
        """Delete ``key`` only if its version still equals ``version``; True if this call deleted it."""
        if version is None:
            raise TypeError("delete_if needs the version read by get_versioned, not None")
        return await traced(self, "delete_if", self._delete_if(check_key(key, self.capabilities), version))

    @final
    def lease(self, name: str, ttl: float, *, wait: float = 0.0) -> Lease:
        """A lease (a lock that admits it is one) on ``name``: ``async with`` it, or ``acquire()``/``release()``."""
        return Lease(self, name, ttl, wait=wait)

    # -- what a backend implements (input already checked: see the module docstring) -----------

    @abc.abstractmethod
    async def _set(self, key: str, value: bytes, ttl: float, *, only_if_exists: bool) -> None:
        """Write one checked item; with ``only_if_exists``, atomically skip a missing or expired key."""

    async def _mset(self, items: list[tuple[str, bytes, float]]) -> None:
        """Write checked, non-empty items (distinct keys unless ``_mset_in_order``).

        Default: one ``_set`` each; override with one round trip.
        """
        for key, value, ttl in items:
            await self._set(key, value, ttl, only_if_exists=False)

    @abc.abstractmethod
    async def _get(self, key: str) -> bytes | None:
        """The value of one checked key, or ``None``."""

    async def _mget(self, keys: list[str]) -> list[bytes | None]:
        """Values of distinct, checked, non-empty keys, in order. Default: one ``_get`` each."""
        return [await self._get(key) for key in keys]

    @abc.abstractmethod
    async def _expire(self, keys: list[str], ttl: float) -> None:
        """Refresh the ttl of the live ones among distinct, checked, non-empty ``keys``."""

    async def _touch(self, keys: list[str], ttl: float) -> list[str]:
        """``_expire`` that returns the missing keys.

        Default: ``_mget`` then ``_expire`` (two round trips, not atomic: a key that expires in
        between is reported live); backends override it with one exact round trip.
        """
        values = await self._mget(keys)
        live = [key for key, value in zip(keys, values, strict=True) if value is not None]
        if live:
            await self._expire(live, ttl)
        return [key for key, value in zip(keys, values, strict=True) if value is None]

    @abc.abstractmethod
    async def _keys(self, prefix: str) -> list[str]:
        """Live keys starting with ``prefix`` (repeats allowed: the base removes them)."""

    async def _items(self, prefix: str) -> list[tuple[str, bytes]]:
        """Live ``(key, value)`` pairs under ``prefix`` (repeats allowed: the base removes them).

        Default: ``_keys`` then ``_mget`` (two round trips; a key expiring in between is left out);
        backends override it with one.
        """
        keys = unique(await self._keys(prefix))
        if not keys:
            return []
        values = await self._mget(keys)
        return [(key, value) for key, value in zip(keys, values, strict=True) if value is not None]

    @abc.abstractmethod
    async def _delete(self, keys: list[str]) -> None:
        """Delete distinct, checked, non-empty ``keys``; missing ones are ignored."""

    async def _add(self, key: str, value: bytes, ttl: float) -> bool:
        """Create-if-absent, atomically. Default: not supported."""
        raise self._unsupported("add")

    async def _get_versioned(self, key: str) -> Versioned | None:
        """The value with its version. Default: not supported."""
        raise self._unsupported("get_versioned")

    async def _cas(self, key: str, value: bytes, ttl: float, version: Version | None) -> Version | None:
        """Compare-and-set on the version, atomically. Default: not supported."""
        raise self._unsupported("cas")

    async def _delete_if(self, key: str, version: Version) -> bool:
        """Compare-and-delete on the version, atomically. Default: not supported."""
        raise self._unsupported("delete_if")

    def _supports_versions(self) -> bool:
        """Whether the concurrency operations are implemented (default: ``_cas`` is overridden)."""
        return type(self)._cas is not SessionKVStore._cas

    def _unsupported(self, operation: str) -> UnsupportedOperationError:
        return UnsupportedOperationError(f"{type(self).__name__} does not implement {operation}")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} namespace={self.namespace!r}>"


def supports_versions(store: SessionKVStore) -> bool:
    """True when the backend implements ``add``, ``get_versioned``, ``cas`` and ``delete_if``."""
    return store._supports_versions()


def has_native_items(store: SessionKVStore) -> bool:
    """True when the backend implements ``_items`` itself (one round trip) instead of ``keys`` then ``mget``."""
    return type(store)._items is not SessionKVStore._items


def has_native_touch(store: SessionKVStore) -> bool:
    """True when the backend implements ``_touch`` itself (one exact round trip) instead of the default."""
    return type(store)._touch is not SessionKVStore._touch
