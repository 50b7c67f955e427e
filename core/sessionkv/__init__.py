"""sessionkv: share live sessions of stateful services across nodes through a TTL key-value store.

Open a store by URL (``open_store("memory://")``, ``open_store("redis://host:6379/0")``); every
backend is a plugin found through the ``sessionkv.backends`` entry-point group.
"""

from .adapt import AdaptedStore, adapt
from .capabilities import StoreCapabilities
from .discovery import BackendCatalog, BackendStatus, list_backends, open_store, register_backend
from .errors import (
    BackendLoadError,
    ConfigurationError,
    InvalidURLError,
    MissingExtraError,
    SessionKVError,
    StoreError,
    StoreNotStartedError,
    UnknownBackendError,
    ValueTooLargeError,
)
from .options import DEFAULT_NAMESPACE, Option, resolve_options
from .plugins import ENTRY_POINT_GROUP, BackendSpec, hookimpl, hookspec
from .registry import NodeInfo, SessionInfo, SessionNode, SessionRegistry
from .store import SessionKVStore
from .url import Host, StoreURL, redact

__all__ = [
    "DEFAULT_NAMESPACE",
    "ENTRY_POINT_GROUP",
    "AdaptedStore",
    "BackendCatalog",
    "BackendLoadError",
    "BackendSpec",
    "BackendStatus",
    "ConfigurationError",
    "Host",
    "InvalidURLError",
    "MissingExtraError",
    "NodeInfo",
    "Option",
    "SessionInfo",
    "SessionKVError",
    "SessionKVStore",
    "SessionNode",
    "SessionRegistry",
    "StoreCapabilities",
    "StoreError",
    "StoreNotStartedError",
    "StoreURL",
    "UnknownBackendError",
    "ValueTooLargeError",
    "adapt",
    "hookimpl",
    "hookspec",
    "list_backends",
    "open_store",
    "redact",
    "register_backend",
    "resolve_options",
]
