"""The plugin interface: hook specifications and the ``BackendSpec`` a plugin returns.

A backend package registers a module under the ``sessionkv.backends`` entry-point group, one
entry point per URL scheme it serves, and that module implements ``sessionkv_backends``::

    # pyproject.toml
    [project.entry-points."sessionkv.backends"]
    mykv = "sessionkv_mykv.plugin"

    # sessionkv_mykv/plugin.py  (keep it light: never import the client library here)
    from sessionkv import BackendSpec, hookimpl

    @hookimpl
    def sessionkv_backends():
        return [BackendSpec(schemes=("mykv",), store="sessionkv_mykv.store:MyKVStore",
                            requires=("mykv_client",), install='pip install "sessionkv-mykv"')]
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from .store import SessionKVStore
    from .url import StoreURL

PROJECT = "sessionkv"
ENTRY_POINT_GROUP = "sessionkv.backends"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

#: Builds a store from a parsed URL and keyword overrides.
StoreFactory = Callable[..., "SessionKVStore"]


@dataclass(frozen=True)
class BackendSpec:
    """What a plugin declares about one backend, without importing its client library.

    schemes: URL schemes it serves. store: a store class or factory, or its ``"module:attr"``
    path, imported only when a URL of one of ``schemes`` is opened. requires: top-level modules
    the store imports (checked before import, to name the missing extra). install: the command
    that installs them. ready: ``False`` for a backend announced but not implemented yet.
    process_local: the data lives inside one process (``memory://``): other processes never see it.
    """

    schemes: tuple[str, ...]
    store: str | type[SessionKVStore] | StoreFactory
    requires: tuple[str, ...] = ()
    install: str | None = None
    extra: str | None = None
    description: str = ""
    ready: bool = True
    process_local: bool = False


class BackendHookSpecs:
    """Hooks a backend plugin implements (with ``@sessionkv.hookimpl``)."""

    @hookspec
    def sessionkv_backends(self) -> list[BackendSpec]:  # type: ignore[empty-body]
        """Describe the backends this plugin provides; must not import client libraries."""


def lazy_exports(package: str, names: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` importing ``names[attr]`` (a submodule such as ``".store"``) on first access.

    Keeps a backend package light: the plugin loader imports the package, not its client library.
    """

    def __getattr__(name: str) -> Any:
        if name not in names:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(names[name], package), name)

    return __getattr__


def store_from_factory(factory: Any, url: StoreURL, overrides: dict[str, Any]) -> SessionKVStore:
    """Call a store class's ``from_url`` or a plain factory with ``(url, **overrides)``."""
    from .store import SessionKVStore

    if isinstance(factory, type) and issubclass(factory, SessionKVStore):
        return factory.from_url(url, **overrides)
    store = factory(url, **overrides)
    if not isinstance(store, SessionKVStore):
        raise TypeError(f"backend factory {factory!r} returned {type(store).__name__}, not a SessionKVStore")
    return store
