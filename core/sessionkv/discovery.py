"""Backend discovery: URL scheme -> plugin, found through entry points and loaded with pluggy.

Lazy by design: listing backends imports only the light plugin modules (never a client
library); opening a URL imports only the plugin(s) registered for its scheme, then the store.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import logging
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any

import pluggy

from .errors import BackendLoadError, MissingExtraError, UnknownBackendError
from .plugins import ENTRY_POINT_GROUP, PROJECT, BackendHookSpecs, BackendSpec, hookimpl, store_from_factory
from .store import SessionKVStore
from .url import StoreURL

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BackendStatus:
    """One row of ``sessionkv backends``: a scheme and whether it can be opened here."""

    scheme: str
    distribution: str
    installed: bool
    install: str | None
    error: str | None
    description: str = ""
    ready: bool = True


class _InProcessPlugin:
    """A pluggy plugin wrapping one ``register_backend`` call."""

    def __init__(self, spec: BackendSpec) -> None:
        self.spec = spec

    @hookimpl
    def sessionkv_backends(self) -> list[BackendSpec]:
        return [self.spec]


class BackendCatalog:
    """Maps URL schemes to backends; one default instance serves ``open_store``."""

    def __init__(self, group: str = ENTRY_POINT_GROUP) -> None:
        self.group = group
        self._pm = pluggy.PluginManager(PROJECT)
        self._pm.add_hookspecs(BackendHookSpecs)
        self._in_process: dict[str, BackendSpec] = {}
        self._loaded: dict[str, tuple[str, Any]] = {}  # entry-point value -> (distribution, module)

    # -- discovery ------------------------------------------------------------------------
    def _entry_points(self) -> dict[str, list[EntryPoint]]:
        found: dict[str, list[EntryPoint]] = {}
        for ep in entry_points(group=self.group):
            found.setdefault(ep.name.lower(), []).append(ep)
        return found

    def schemes(self) -> list[str]:
        """Every scheme known, registered in-process or through an entry point."""
        return sorted(set(self._in_process) | set(self._entry_points()))

    def register_backend(self, scheme: str, factory: Any, *, replace: bool = False) -> None:
        """Register ``factory`` (a store class or ``(url, **overrides) -> store``) for ``scheme``."""
        scheme = scheme.lower()
        if scheme in self._in_process and not replace:
            raise ValueError(f"scheme {scheme!r} is already registered in-process; pass replace=True")
        self.unregister_backend(scheme)
        spec = BackendSpec(schemes=(scheme,), store=factory, description="registered in-process")
        self._in_process[scheme] = spec
        self._pm.register(_InProcessPlugin(spec), name=f"in-process:{scheme}")

    def unregister_backend(self, scheme: str) -> None:
        """Forget an in-process registration (entry points are untouched)."""
        scheme = scheme.lower()
        if self._in_process.pop(scheme, None) is not None:
            self._pm.unregister(name=f"in-process:{scheme}")

    def _load_plugin(self, ep: EntryPoint) -> tuple[str, Any]:
        dist = ep.dist.name if ep.dist is not None else "<unknown distribution>"
        if ep.value not in self._loaded:
            try:
                module = ep.load()
            except Exception as exc:
                raise BackendLoadError(ep.name, dist, exc) from exc
            if not self._pm.is_registered(module):
                self._pm.register(module, name=f"{dist}:{ep.value}")
            self._loaded[ep.value] = (dist, module)
        return self._loaded[ep.value]

    def spec_for(self, scheme: str) -> tuple[BackendSpec, str]:
        """The spec serving ``scheme`` and its distribution; loads only that scheme's plugin."""
        scheme = scheme.lower()
        if scheme in self._in_process:
            return self._in_process[scheme], "in-process"
        eps = self._entry_points().get(scheme)
        if not eps:
            known = self.schemes()
            close = difflib.get_close_matches(scheme, known, n=1)
            raise UnknownBackendError(scheme, known, close[0] if close else None)
        if len({ep.value for ep in eps}) > 1:
            log.warning("several plugins claim %s://: %s; using the first", scheme, [ep.value for ep in eps])
        dist, module = self._load_plugin(eps[0])
        others = [p for p in self._pm.get_plugins() if p is not module]
        for result in self._pm.subset_hook_caller("sessionkv_backends", remove_plugins=others)():
            for spec in result:
                if scheme in spec.schemes:
                    return spec, dist
        raise BackendLoadError(
            scheme, dist, LookupError(f"plugin {eps[0].value} is registered for {scheme}:// but does not declare it")
        )

    # -- opening ----------------------------------------------------------------------------
    def load_factory(self, scheme: str) -> Any:
        """Import and return the store class or factory for ``scheme`` (checks its extra first)."""
        spec, dist = self.spec_for(scheme)
        missing = _missing_module(spec.requires)
        if missing is not None:
            raise MissingExtraError(scheme, _install_hint(spec, dist), missing)
        if not spec.ready:
            raise BackendLoadError(
                scheme, dist, NotImplementedError("this backend is announced but not implemented yet")
            )
        if not isinstance(spec.store, str):
            return spec.store
        module_name, _, attr = spec.store.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            root = (exc.name or "").split(".")[0]
            if root and root in {r.split(".")[0] for r in spec.requires}:
                raise MissingExtraError(scheme, _install_hint(spec, dist), exc.name) from exc
            raise BackendLoadError(scheme, dist, exc) from exc
        except Exception as exc:
            raise BackendLoadError(scheme, dist, exc) from exc
        try:
            return getattr(module, attr) if attr else module
        except AttributeError as exc:
            raise BackendLoadError(scheme, dist, exc) from exc

    def open_store(self, url: str | StoreURL, **overrides: Any) -> SessionKVStore:
        """Build the store a URL names (not started: use ``async with``)."""
        parsed = url if isinstance(url, StoreURL) else StoreURL.parse(url)
        factory = self.load_factory(parsed.scheme)
        return store_from_factory(factory, parsed, overrides)

    # -- listing ----------------------------------------------------------------------------
    def list_backends(self) -> list[BackendStatus]:
        """One status per known scheme; imports plugin modules but no client library."""
        rows: list[BackendStatus] = []
        for scheme in self.schemes():
            try:
                spec, dist = self.spec_for(scheme)
            except BackendLoadError as exc:
                eps = self._entry_points().get(scheme, [])
                dist = eps[0].dist.name if eps and eps[0].dist is not None else "?"
                rows.append(BackendStatus(scheme, dist, False, None, str(exc)))
                continue
            missing = _missing_module(spec.requires)
            rows.append(
                BackendStatus(
                    scheme,
                    dist,
                    installed=missing is None,
                    install=_install_hint(spec, dist),
                    error=None if spec.ready else "not implemented yet",
                    description=spec.description,
                    ready=spec.ready,
                )
            )
        return rows


def _missing_module(requires: tuple[str, ...]) -> str | None:
    for name in requires:
        try:
            if importlib.util.find_spec(name) is None:
                return name
        except (ImportError, ValueError):
            return name
    return None


def _install_hint(spec: BackendSpec, dist: str) -> str:
    if spec.install:
        return spec.install
    if spec.extra:
        return f'pip install "{dist}[{spec.extra}]"'
    return f'pip install "{dist}"'


default_catalog = BackendCatalog()


def open_store(url: str | StoreURL, **overrides: Any) -> SessionKVStore:
    """Build the store a URL names, e.g. ``open_store("redis://localhost:6379/0")``; not started."""
    return default_catalog.open_store(url, **overrides)


def register_backend(scheme: str, factory: Any, *, replace: bool = False) -> None:
    """Register a store class or factory for ``scheme`` in this process (tests, apps)."""
    default_catalog.register_backend(scheme, factory, replace=replace)


def list_backends() -> list[BackendStatus]:
    """Every known scheme with its distribution, install state and install command."""
    return default_catalog.list_backends()
