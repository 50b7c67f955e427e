"""OpenTelemetry spans and metrics for store calls, registries and nodes: optional, near-free when unused.

With ``opentelemetry-api`` installed (``pip install "sessionkv[otel]"``) every store call that reaches its
backend (``SessionKVStore``'s public methods, after their input checks) is one CLIENT span and one
measurement of the histogram ``db.client.operation.duration`` (seconds), with the database semantic
conventions' attributes: ``db.system.name`` (the backend's ``db_system_name``), ``db.operation.name`` (the
method), ``db.operation.batch.size`` (spans of batches of at least 2 keys), ``server.address``/``server.port``
where the store's URL names them and ``error.type`` on failure. Keys, values and exception messages (which
may quote a key) are never recorded.

Why here: the template methods of ``sessionkv.store`` are the one place every backend's calls pass through,
so instrumenting them there covers every backend, the adapted third-party stores included, without a line in
a backend beyond its ``db_system_name``.

Cost: without the API, or with it but no provider configured (neither ``set_meter_provider`` nor
``set_tracer_provider`` called, nor ``configure`` below), ``traced`` hands the backend's coroutine back
untouched after two attribute reads (``python -m bench --only otel`` measures it). Providers set after
stores are built are picked up by the next call.

``configure(meter_provider=..., tracer_provider=...)`` makes sessionkv record to the given providers
instead of the global ones (tests, or an application keeping sessionkv's telemetry apart); ``disable()``
turns everything off (also ``SESSIONKV_OTEL=off`` in the environment).
"""

from __future__ import annotations

import os
import time
import weakref
from collections.abc import Awaitable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

try:
    from opentelemetry import metrics as _metrics
    from opentelemetry import trace as _trace
    from opentelemetry.metrics import _internal as _metrics_globals
except ImportError:  # the API is optional: nothing is recorded without it
    _metrics = _trace = _metrics_globals = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from opentelemetry.metrics import CallbackOptions, Observation

T = TypeVar("T")

#: The instrumentation scope's name (``InstrumentationScope.name`` of every span and metric).
SCOPE = "sessionkv"
#: The histogram of every store call, in seconds (the database semantic conventions' metric).
OPERATION_DURATION = "db.client.operation.duration"
#: The semantic conventions' advice for ``db.client.operation.duration``'s buckets.
DURATION_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0)
REGISTRY_SESSIONS = "sessionkv.registry.sessions"
HEARTBEAT_DURATION = "sessionkv.registry.heartbeat.duration"
RECORDS_RESTORED = "sessionkv.registry.records.restored"
MAINTENANCE_FAILURES = "sessionkv.node.maintenance.failures"
CLOSE_REQUESTS = "sessionkv.node.close_requests.handled"
#: Default ports by URL scheme, for ``server.port`` when a URL leaves it out.
DEFAULT_PORTS = {
    "redis": 6379,
    "rediss": 6379,
    "redis+cluster": 6379,
    "redis+sentinel": 26379,
    "memcached": 11211,
    "etcd": 2379,
    "etcds": 2379,
    "postgresql": 5432,
    "postgres": 5432,
}


def available() -> bool:
    """True when ``opentelemetry-api`` is installed (the ``otel`` extra)."""
    return _trace is not None


def _version() -> str | None:
    """sessionkv's installed version (the instrumentation scope's version)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("sessionkv")
    except PackageNotFoundError:
        return None


class _Instruments:
    """The tracer and instruments made from one pair of providers."""

    def __init__(self, meter_provider: Any, tracer_provider: Any) -> None:
        from opentelemetry.trace import SpanKind

        self.meter_provider, self.tracer_provider = meter_provider, tracer_provider
        self.client_kind = SpanKind.CLIENT
        self.tracer = tracer_provider.get_tracer(SCOPE, _version())
        meter = meter_provider.get_meter(SCOPE, _version())
        self.duration = meter.create_histogram(
            OPERATION_DURATION,
            unit="s",
            description="Duration of database client operations.",
            explicit_bucket_boundaries_advisory=list(DURATION_BUCKETS),
        )
        meter.create_observable_up_down_counter(
            REGISTRY_SESSIONS, [_observe_sessions], unit="{session}", description="Sessions this registry owns."
        )
        self.heartbeat = meter.create_histogram(
            HEARTBEAT_DURATION,
            unit="s",
            description="Duration of successful registry heartbeats.",
            explicit_bucket_boundaries_advisory=list(DURATION_BUCKETS),
        )
        self.restored = meter.create_counter(
            RECORDS_RESTORED, unit="{record}", description="Session records re-written after the store lost them."
        )
        self.failures = meter.create_counter(
            MAINTENANCE_FAILURES, unit="{failure}", description="Failed maintenance cycles of a SessionNode."
        )
        self.close_requests = meter.create_counter(
            CLOSE_REQUESTS, unit="{request}", description="Sessions a SessionNode cancelled on another's request."
        )


class _State:
    """What ``traced`` reads on every call (see the module docstring)."""

    def __init__(self) -> None:
        self.enabled = available() and os.environ.get("SESSIONKV_OTEL", "").lower() not in ("off", "0", "false")
        #: providers given to ``configure`` (``None``: the global ones)
        self.configured: tuple[Any, Any] | None = None
        self.instruments: _Instruments | None = None


_state = _State()
#: server and system attributes of each store, computed on its first recorded call
_attributes: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()
#: the registries ``sessionkv.registry.sessions`` reports
_registries: weakref.WeakSet[Any] = weakref.WeakSet()
if _state.enabled:  # providers named by OTEL_PYTHON_*_PROVIDER load on first use: load them now
    _metrics.get_meter_provider()
    _trace.get_tracer_provider()


def configure(*, meter_provider: Any = None, tracer_provider: Any = None) -> None:
    """Record to these providers instead of the global ones; with neither, go back to the global ones.

    A provider left out of a pair is replaced by the API's no-op one (so ``configure(meter_provider=p)``
    records metrics only).
    """
    if meter_provider is None and tracer_provider is None:
        _state.configured = None
        return
    if _metrics is None:
        raise RuntimeError('sessionkv.telemetry.configure needs opentelemetry-api: pip install "sessionkv[otel]"')
    _state.configured = (
        meter_provider if meter_provider is not None else _metrics.NoOpMeterProvider(),
        tracer_provider if tracer_provider is not None else _trace.NoOpTracerProvider(),
    )


def disable() -> None:
    """Record nothing, whatever the providers (the baseline of ``python -m bench --only otel``)."""
    _state.enabled = False


def enable() -> None:
    """Undo ``disable()`` (no effect without ``opentelemetry-api``)."""
    _state.enabled = available()


def _active() -> _Instruments | None:
    """The instruments to record with, or ``None`` when nothing would be recorded."""
    state = _state
    if not state.enabled:
        return None
    providers = state.configured
    if providers is None:
        if _metrics_globals._METER_PROVIDER is None and _trace._TRACER_PROVIDER is None:
            return None
        providers = (_metrics.get_meter_provider(), _trace.get_tracer_provider())
    instruments = state.instruments
    if instruments is None or (
        instruments.meter_provider is not providers[0] or instruments.tracer_provider is not providers[1]
    ):
        instruments = state.instruments = _Instruments(*providers)
    return instruments


def traced(store: Any, operation: str, call: Awaitable[T], batch: int = 0) -> Awaitable[T]:
    """``call`` (a backend's coroutine) recorded as one ``operation`` of ``store``: ``call`` itself if unobserved."""
    state = _state
    if not state.enabled or (
        state.configured is None and _metrics_globals._METER_PROVIDER is None and _trace._TRACER_PROVIDER is None
    ):
        return call
    instruments = _active()
    if instruments is None or getattr(store, "db_system_name", None) is None:
        return call
    return _observe(instruments, store, operation, call, batch)


async def _observe(instruments: _Instruments, store: Any, operation: str, call: Awaitable[T], batch: int) -> T:
    try:
        base = _attributes.get(store)
        if base is None:
            base = _attributes[store] = store_attributes(store)
    except TypeError:  # a store that is not hashable or weak-referenceable: computed per call
        base = store_attributes(store)
    attributes = {**base, "db.operation.name": operation}
    span_attributes = {**attributes, "db.operation.batch.size": batch} if batch >= 2 else attributes
    start = time.perf_counter()
    with instruments.tracer.start_as_current_span(
        operation,
        kind=instruments.client_kind,
        attributes=span_attributes,
        record_exception=False,  # an exception's message may quote a key
        set_status_on_exception=False,
    ) as span:
        try:
            result = await call
        except BaseException as exc:
            error = error_type(exc)
            span.set_attribute("error.type", error)
            span.set_status(_trace.StatusCode.ERROR, error)
            instruments.duration.record(time.perf_counter() - start, {**attributes, "error.type": error})
            raise
    instruments.duration.record(time.perf_counter() - start, attributes)
    return result


def error_type(exc: BaseException) -> str:
    """``error.type``: the exception's fully qualified class name (``builtins`` left out)."""
    cls = type(exc)
    return cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"


def store_attributes(store: Any) -> dict[str, Any]:
    """``db.system.name`` and, where the store's URL names them, ``server.address`` and ``server.port``."""
    attributes: dict[str, Any] = {"db.system.name": store.db_system_name}
    config = getattr(store, "_config", None) or getattr(store, "config", None)
    url = getattr(config, "url", None)
    host = getattr(url, "host", None)
    if host is not None and getattr(host, "host", None):
        attributes["server.address"] = host.host
        port = host.port or DEFAULT_PORTS.get(getattr(url, "scheme", ""))
        if port:
            attributes["server.port"] = port
    endpoint = getattr(config, "endpoint_url", None)  # DynamoDB Local, moto, LocalStack
    if isinstance(endpoint, str):
        parts = urlsplit(endpoint)
        if parts.hostname:
            attributes["server.address"] = parts.hostname
            port = parts.port or (443 if parts.scheme == "https" else 80)
            attributes["server.port"] = port
    return attributes


# -- the registry and SessionNode (each hook is one line there) --------------------------------------


def track_registry(registry: Any) -> None:
    """Report ``registry``'s owned sessions in ``sessionkv.registry.sessions`` while it lives."""
    _registries.add(registry)


def _observe_sessions(options: CallbackOptions) -> Iterable[Observation]:
    from opentelemetry.metrics import Observation

    return [Observation(len(r.owned_sessions()), {"sessionkv.node.id": r.node_id}) for r in list(_registries)]


def heartbeat_done(registry: Any, started: float, restored: int) -> None:
    """A successful heartbeat of ``registry`` that began at ``started`` (``time.perf_counter()``)."""
    instruments = _active()
    if instruments is None:
        return
    attributes = {"sessionkv.node.id": registry.node_id}
    instruments.heartbeat.record(time.perf_counter() - started, attributes)
    if restored:
        instruments.restored.add(restored, attributes)


def maintenance_failed(node_id: str, exc: BaseException) -> None:
    """One failed maintenance cycle of a ``SessionNode`` (``error.type`` says what failed)."""
    instruments = _active()
    if instruments is not None:
        instruments.failures.add(1, {"sessionkv.node.id": node_id, "error.type": error_type(exc)})


def close_request_handled(node_id: str) -> None:
    """A session a ``SessionNode`` cancelled because another node requested its close."""
    instruments = _active()
    if instruments is not None:
        instruments.close_requests.add(1, {"sessionkv.node.id": node_id})
