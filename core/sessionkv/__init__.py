"""sessionkv: share live sessions of stateful services across nodes through a TTL key-value store.

Open a store by URL (``open_store("memory://")``, ``open_store("redis://host:6379/0")``); every
backend is a plugin found through the ``sessionkv.backends`` entry-point group.

This module is the public surface: everything users and backend authors need is re-exported here
(the submodules are private). ``sessionkv.compat`` holds the published API's names for drop-in use;
``sessionkv.cli`` is the command line, which the library never imports.
"""

from .adapt import AdaptedStore, adapt
from .capabilities import StoreCapabilities
from .discovery import BackendCatalog, BackendStatus, list_backends, open_store, register_backend
from .documents import Documents
from .errors import (
    AdmissionError,
    BackendLoadError,
    CallFullError,
    ConfigurationError,
    ConflictError,
    FencedOutError,
    InvalidURLError,
    LeaseNotAcquiredError,
    MissingExtraError,
    NodeFullError,
    SessionKVError,
    StoreError,
    StoreNotStartedError,
    UnknownBackendError,
    UnsupportedOperationError,
    ValueTooLargeError,
)
from .lease import Lease
from .namespaces import KeyPrefix, check_namespace, sub_namespace
from .options import DEFAULT_NAMESPACE, NAMESPACE_OPTION, Option, resolve_options
from .periodic import Periodic
from .plugins import ENTRY_POINT_GROUP, BackendSpec, hookimpl, hookspec, lazy_exports
from .registry import HeartbeatResult, NodeInfo, SessionInfo, SessionNode, SessionRegistry
from .store import SessionKVStore, has_native_items, has_native_touch, supports_versions
from .tiered import TieredStore, tiered
from .url import Host, StoreURL, redact
from .versioned import Version, Versioned

__all__ = [
    "DEFAULT_NAMESPACE",
    "ENTRY_POINT_GROUP",
    "NAMESPACE_OPTION",
    "AdaptedStore",
    "AdmissionError",
    "BackendCatalog",
    "BackendLoadError",
    "BackendSpec",
    "BackendStatus",
    "CallFullError",
    "ConfigurationError",
    "ConflictError",
    "Documents",
    "FencedOutError",
    "HeartbeatResult",
    "Host",
    "InvalidURLError",
    "KeyPrefix",
    "Lease",
    "LeaseNotAcquiredError",
    "MissingExtraError",
    "NodeFullError",
    "NodeInfo",
    "Option",
    "Periodic",
    "SessionInfo",
    "SessionKVError",
    "SessionKVStore",
    "SessionNode",
    "SessionRegistry",
    "StoreCapabilities",
    "StoreError",
    "StoreNotStartedError",
    "StoreURL",
    "TieredStore",
    "UnknownBackendError",
    "UnsupportedOperationError",
    "ValueTooLargeError",
    "Version",
    "Versioned",
    "adapt",
    "check_namespace",
    "has_native_items",
    "has_native_touch",
    "hookimpl",
    "hookspec",
    "lazy_exports",
    "list_backends",
    "open_store",
    "redact",
    "register_backend",
    "resolve_options",
    "sub_namespace",
    "supports_versions",
    "tiered",
]
