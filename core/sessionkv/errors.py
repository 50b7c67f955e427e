"""The sessionkv error hierarchy: every error the library raises on purpose lives here.

Each class also derives from the closest built-in exception, so callers that catch
``ValueError``/``LookupError``/``ImportError`` keep working. The tree::

    SessionKVError
    ├── ConfigurationError (ValueError)
    │   └── InvalidURLError
    ├── UnknownBackendError (LookupError)
    ├── MissingExtraError (ImportError)
    ├── BackendLoadError (ImportError)
    ├── StoreError
    │   └── StoreNotStartedError
    ├── ValueTooLargeError (ValueError)
    ├── UnsupportedOperationError (NotImplementedError)
    ├── ConflictError
    │   └── FencedOutError
    ├── LeaseNotAcquiredError
    └── AdmissionError
        ├── CallFullError
        └── NodeFullError
"""

from __future__ import annotations


class SessionKVError(Exception):
    """Base class of every error sessionkv raises on purpose."""


class ConfigurationError(SessionKVError, ValueError):
    """A store URL or option is malformed or unknown; the message names the bad part."""


class InvalidURLError(ConfigurationError):
    """A store URL cannot be parsed (no scheme, bad port, bad percent-encoding...)."""


class UnknownBackendError(SessionKVError, LookupError):
    """No installed plugin claims the URL scheme; the message lists the known ones."""

    def __init__(self, scheme: str, known: list[str], suggestion: str | None = None) -> None:
        self.scheme = scheme
        self.known = sorted(known)
        self.suggestion = suggestion
        hint = f" Did you mean {suggestion!r}?" if suggestion else ""
        listing = ", ".join(self.known) or "none"
        super().__init__(
            f"no sessionkv backend for scheme {scheme!r}.{hint} Known schemes: {listing}. "
            "Run `sessionkv backends` to see what is installed."
        )


class MissingExtraError(SessionKVError, ImportError):
    """A backend is known but its client library is not installed; names the pip command."""

    def __init__(self, scheme: str, install: str, missing: str | None) -> None:
        self.scheme = scheme
        self.install = install
        what = f" (module {missing!r} not found)" if missing else ""
        super().__init__(
            f"the {scheme}:// backend needs a client library that is not installed{what}. Install it with: {install}",
            name=missing,
        )


class BackendLoadError(SessionKVError, ImportError):
    """A backend plugin exists but failed to load; names the distribution and the cause."""

    def __init__(self, scheme: str, distribution: str, cause: BaseException) -> None:
        self.scheme = scheme
        self.distribution = distribution
        super().__init__(
            f"the plugin for {scheme}:// from distribution {distribution!r} failed to load: "
            f"{type(cause).__name__}: {cause}"
        )


class StoreError(SessionKVError):
    """The store's server failed an operation (connection lost, timeout...); cause chained."""


class StoreNotStartedError(StoreError):
    """An operation was called on a store that is not started or already closed."""


class ValueTooLargeError(SessionKVError, ValueError):
    """A value exceeds the backend's declared maximum size; nothing was written."""


class UnsupportedOperationError(SessionKVError, NotImplementedError):
    """The backend does not implement an optional operation (``add``, ``cas``...); the message names it."""


class ConflictError(SessionKVError):
    """A versioned write lost to a concurrent one (``Documents.save``/``update``); nothing was written."""


class FencedOutError(ConflictError):
    """A write carried a fencing token lower than one the document already saw: a stale lease holder."""


class LeaseNotAcquiredError(SessionKVError):
    """``async with store.lease(...)`` could not acquire the lease within its ``wait``."""


class AdmissionError(SessionKVError):
    """The registry refused a session because a limit is reached; nothing was written."""


class CallFullError(AdmissionError):
    """``register(..., max_per_call=N)`` found N live sessions of the call across the fleet."""

    def __init__(self, call_id: str, limit: int) -> None:
        self.call_id = call_id
        self.limit = limit
        super().__init__(f"call {call_id!r} is full: it has {limit} live sessions, the limit (max_per_call={limit})")


class NodeFullError(AdmissionError):
    """This node already runs ``max_sessions`` sessions (``SessionRegistry``/``SessionNode``)."""

    def __init__(self, node_id: str, limit: int) -> None:
        self.node_id = node_id
        self.limit = limit
        super().__init__(f"node {node_id!r} is full: it runs {limit} sessions, its max_sessions")
