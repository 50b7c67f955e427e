"""What the suite certifies: store factories (from a URL, a ``module:callable``, or an author's fixture).

A factory is ``namespace -> store`` returning a NOT started store: a ``SessionKVStore`` or any
object with the published methods (wrapped with ``sessionkv.adapt``). A factory that cannot
place stores in a namespace says so with ``isolates_namespaces = False``; the suite then reports
its namespace checks as adapted.
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
import uuid
import weakref
from collections.abc import Callable
from typing import Any

from sessionkv import (
    AdaptedStore,
    SessionKVStore,
    StoreURL,
    adapt,
    has_native_items,
    has_native_touch,
    open_store,
    sub_namespace,
)

#: Builds a NOT started store in ``namespace`` on the backend under test.
StoreFactory = Callable[[str], Any]
#: the namespace each store built by ``build_store`` was given (to build a second object on the same namespace)
_namespaces: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()
#: keyword names a ``--factory`` callable may take for the namespace, in order of preference
NAMESPACE_KEYWORDS = ("namespace", "key_prefix")


def fresh_namespace(tag: str = "skvc") -> str:
    """A namespace no other test uses."""
    return f"{tag}-{uuid.uuid4().hex[:16]}:"


def url_factory(url: str) -> StoreFactory:
    """Stores opened from ``url`` in a given namespace (inside the URL's own ``namespace`` option, if any)."""
    base = StoreURL.parse(url).query.get("namespace")
    return lambda namespace: open_store(url, namespace=sub_namespace(base, namespace) if base else namespace)


class CallableFactory:
    """A ``module:callable`` as a factory: ``callable(namespace=...)`` or ``callable(key_prefix=...)``.

    A callable taking neither is called with no arguments for every test; its stores then share
    one namespace, so the suite relies on its empty-check and cleanup and reports the namespace
    checks as adapted.
    """

    def __init__(self, spec: str) -> None:
        self.spec = spec
        self.func = load_callable(spec)
        self.keyword = namespace_keyword(self.func)
        self.isolates_namespaces = self.keyword is not None

    def __call__(self, namespace: str) -> Any:
        if self.keyword is None:
            return self.func()
        return self.func(**{self.keyword: namespace})

    def __repr__(self) -> str:
        return f"<factory {self.spec}>"


def one_line(exc: BaseException, limit: int = 300) -> str:
    """The first line of ``exc``'s message, at most ``limit`` characters."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


def load_callable(spec: str) -> Callable[..., Any]:
    """Import ``package.module:callable`` (the current directory is importable too); one-line errors."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"--factory must look like package.module:callable, got {spec!r}")
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except SyntaxError as exc:  # the author's module does not compile: where, in one line
        where = f"{exc.filename}:{exc.lineno}" if exc.filename else module_name
        raise ValueError(
            f"cannot import {module_name!r} for --factory {spec}: SyntaxError at {where}: {exc.msg}"
        ) from None
    except Exception as exc:  # ImportError, or anything the module raises as it is imported
        raise ValueError(
            f"cannot import {module_name!r} for --factory {spec}: {type(exc).__name__}: {one_line(exc)}"
        ) from None
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ValueError(f"{module_name!r} has no attribute {attr!r} (--factory {spec})")
        obj = getattr(obj, part)
    if not callable(obj):
        raise ValueError(f"--factory {spec} is a {type(obj).__name__}, not a callable returning a store")
    return obj  # type: ignore[no-any-return]


def namespace_keyword(func: Callable[..., Any]) -> str | None:
    """The keyword of ``NAMESPACE_KEYWORDS`` that ``func`` accepts, or ``None``."""
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return None
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    for name in NAMESPACE_KEYWORDS:
        if name in params and params[name].kind in kinds:
            return name
    return None


def build_store(factory: StoreFactory, namespace: str) -> SessionKVStore:
    """``factory(namespace)`` as a ``SessionKVStore`` (a stranger wrapped with ``sessionkv.adapt``).

    Raises ``TypeError``/``ValueError`` with one line when the object is not a store or declares
    invalid capabilities.
    """
    try:
        made = factory(namespace)
    except Exception as exc:
        raise ValueError(f"the store factory raised {type(exc).__name__}: {one_line(exc)}") from None
    try:
        store = adapt(made)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"the store factory returned an unusable store: {exc}") from None
    _namespaces[store] = namespace
    return store


def namespace_of(store: SessionKVStore) -> str:
    """The namespace ``build_store`` gave ``store`` (``KeyError`` for a store it did not build)."""
    return _namespaces[store]


def raw_store(store: SessionKVStore) -> Any:
    """The object its author wrote: a stranger's own object (not the adapter), or the ``SessionKVStore`` itself."""
    return store.inner if isinstance(store, AdaptedStore) else store


def build_raw(factory: StoreFactory, namespace: str) -> Any:
    """``factory(namespace)`` as its author returns it (not adapted), checked to have the published methods."""
    return raw_store(build_store(factory, namespace))


def describe_store(store: SessionKVStore) -> str:
    """What is certified: the class, and whether it came through ``sessionkv.adapt``."""
    target = store.inner if isinstance(store, AdaptedStore) else store
    name = f"{type(target).__module__}.{type(target).__qualname__}"
    if isinstance(store, AdaptedStore):
        return f"{name} (published interface, wrapped with sessionkv.adapt)"
    return f"{name} (sessionkv.SessionKVStore subclass)"


def store_notes(store: SessionKVStore) -> list[str]:
    """How the suite adapted to the store as a whole (reported once, never failures)."""
    caps = store.capabilities
    if isinstance(store, AdaptedStore) and not store.declared:
        notes = [f"capabilities: none declared; the suite used the stated defaults {caps!r}"]
    else:
        notes = [f"capabilities: declared {caps!r}"]
    if isinstance(store, AdaptedStore):
        for name, implemented in store.implements.items():
            if not implemented:
                # touch and items have defaults (mget then expire; keys then mget) that the suite tests; the
                # versioned writes have none
                how = (
                    "tested through sessionkv's default"
                    if name in ("touch", "items")
                    else "not checked (no default exists)"
                )
                notes.append(f"{name}: not implemented (optional); {how}")
        notes.append(
            "input validation: done by sessionkv.adapt before the store is called (bad-input tests certify the "
            "adapted store; ttl <= 0 is also tried on the store itself)"
        )
        notes.append(
            "provided by sessionkv.adapt, and also checked on the store itself (area 'store as written'): "
            "repeated keys in mset/mget/expire/delete, empty batches, keys listed once, and the lifecycle "
            "(start twice, shared owners, close by the last owner, start after close)"
        )
    else:
        if not has_native_touch(store):
            notes.append("touch: not implemented (optional); tested through sessionkv's default")
        if not has_native_items(store):
            notes.append("items: not implemented (optional); tested through sessionkv's default (keys then mget)")
    return notes


def implements_touch(store: SessionKVStore) -> bool:
    """Whether the store has its own touch (else sessionkv's default, mget then expire, is what runs)."""
    if isinstance(store, AdaptedStore):
        return store.implements.get("touch", False)
    return has_native_touch(store)


__all__ = [
    "NAMESPACE_KEYWORDS",
    "CallableFactory",
    "StoreFactory",
    "build_raw",
    "build_store",
    "describe_store",
    "fresh_namespace",
    "implements_touch",
    "namespace_of",
    "raw_store",
    "store_notes",
    "url_factory",
]
