"""OpenTelemetry (issue #28): every backend's calls as spans and db.client.operation.duration, read back from the
SDK's in-memory readers on real servers; the registry and node metrics; nothing recorded without a provider."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from sessionkv import SessionNode, SessionRegistry, adapt, open_store, telemetry

#: (id, fixture giving the server, db.system.name, whether server.address is known)
BACKENDS = [
    ("memory", None, "memory", False),
    ("redis", "redis_server", "redis", True),
    ("memcached", "memcached_server", "memcached", True),
    ("etcd", "etcd_server", "etcd", True),
    ("dynamodb", "dynamodb_table_url", "aws.dynamodb", True),
    ("postgresql", "postgres_server", "postgresql", True),
]


class Recorded:
    """The in-memory readers sessionkv records to during one test."""

    def __init__(self) -> None:
        self.reader = InMemoryMetricReader()
        self.spans = InMemorySpanExporter()
        tracer_provider = TracerProvider()
        tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        telemetry.configure(meter_provider=MeterProvider(metric_readers=[self.reader]), tracer_provider=tracer_provider)

    def metrics(self) -> dict[str, Any]:
        data = self.reader.get_metrics_data()
        return {m.name: m for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics}

    def points(self, name: str) -> list[dict[str, Any]]:
        metric = self.metrics().get(name)
        return [] if metric is None else [dict(p.attributes) for p in metric.data.data_points]


@pytest.fixture
def recorded() -> Iterator[Recorded]:
    rec = Recorded()
    yield rec
    telemetry.configure()


def _url(request: pytest.FixtureRequest, fixture: str | None) -> str:
    if fixture is None:
        return "memory://"
    value = request.getfixturevalue(fixture)
    return value if isinstance(value, str) else str(value.url)


@pytest.mark.asyncio
@pytest.mark.parametrize(("fixture", "system", "has_server"), [b[1:] for b in BACKENDS], ids=[b[0] for b in BACKENDS])
async def test_every_call_is_a_client_span_and_a_duration_with_the_database_conventions(
    request: pytest.FixtureRequest, recorded: Recorded, fixture: str | None, system: str, has_server: bool
) -> None:
    secret_key, secret_value = f"secret-key-{uuid.uuid4().hex}", b"secret-value"
    async with open_store(_url(request, fixture), namespace=f"otel{uuid.uuid4().hex[:8]}:") as store:
        recorded.spans.clear()
        await store.set(secret_key, secret_value, 30.0)
        assert await store.get(secret_key) == secret_value
        await store.mget([secret_key, "other"])
        await store.delete([secret_key])
        with pytest.raises(ValueError):
            await store.set("", b"x", 30.0)  # refused before any I/O: no span
    spans = recorded.spans.get_finished_spans()
    assert [span.name for span in spans] == ["set", "get", "mget", "delete"]
    for span in spans:
        attributes = dict(span.attributes or {})
        assert span.kind is SpanKind.CLIENT
        assert attributes["db.system.name"] == system
        assert attributes["db.operation.name"] == span.name
        assert ("server.address" in attributes) is has_server
        assert ("server.port" in attributes) is has_server
        assert "error.type" not in attributes
        assert all(secret_key not in str(v) and "secret-value" not in str(v) for v in attributes.values())
    assert dict(spans[2].attributes or {})["db.operation.batch.size"] == 2
    assert "db.operation.batch.size" not in dict(spans[3].attributes or {})  # one key: not a batch
    metric = recorded.metrics()[telemetry.OPERATION_DURATION]
    assert metric.unit == "s"
    points = metric.data.data_points
    assert sorted(p.attributes["db.operation.name"] for p in points) == ["delete", "get", "mget", "set"]
    assert all(p.count == 1 and p.attributes["db.system.name"] == system for p in points)


class Broken(Exception):
    pass


class FailingStore:
    """A third-party store (published methods only) declaring its db.system.name, whose get fails."""

    db_system_name = "sqlite"

    async def get(self, key: str) -> bytes | None:
        raise Broken(f"cannot read {key}")

    async def set(self, key: str, value: bytes, ttl: float, *, only_if_exists: bool = False) -> None:
        return None

    async def start(self) -> None:
        return None

    close = start

    async def mset(self, items: list[tuple[str, bytes, float]]) -> None:
        return None

    async def mget(self, keys: list[str]) -> list[bytes | None]:
        return [None] * len(keys)

    async def expire(self, *keys: str, ttl: float) -> None:
        return None

    async def keys(self, prefix: str = "") -> list[str]:
        return []

    async def delete(self, keys: list[str]) -> None:
        return None


@pytest.mark.asyncio
async def test_a_failure_sets_error_type_and_never_the_message(recorded: Recorded) -> None:
    store = adapt(FailingStore())
    with pytest.raises(Broken):
        await store.get("secret-key")
    (span,) = recorded.spans.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert dict(span.attributes or {})["error.type"] == f"{__name__}.Broken"
    assert dict(span.attributes or {})["db.system.name"] == "sqlite"
    assert "secret-key" not in str(span.status.description) and not span.events
    (point,) = recorded.points(telemetry.OPERATION_DURATION)
    assert point["error.type"] == f"{__name__}.Broken"


@pytest.mark.asyncio
async def test_without_a_provider_or_disabled_nothing_is_recorded_and_the_coroutine_is_handed_back() -> None:
    store = open_store("memory://")

    async def call() -> int:
        return 1

    coroutine = call()
    assert telemetry.traced(store, "get", coroutine) is coroutine  # no provider configured in this process
    assert await coroutine == 1
    rec = Recorded()
    try:
        telemetry.disable()
        coroutine = call()
        assert telemetry.traced(store, "get", coroutine) is coroutine
        await coroutine
        telemetry.enable()
        await store.set("k", b"v", 5.0)
        assert [s.name for s in rec.spans.get_finished_spans()] == ["set"]
    finally:
        telemetry.enable()
        telemetry.configure()


@pytest.mark.asyncio
async def test_registry_and_node_report_sessions_heartbeats_restores_failures_and_close_requests(
    recorded: Recorded,
) -> None:
    store = open_store("memory://")
    async with SessionRegistry(store, node_id="otel-a", ttl=5.0) as registry:
        await registry.register("call", "s1")
        await registry.register("call", "s2")
        sessions = recorded.metrics()[telemetry.REGISTRY_SESSIONS]
        assert sessions.unit == "{session}"
        assert [
            (p.value, dict(p.attributes))
            for p in sessions.data.data_points
            if p.attributes["sessionkv.node.id"] == "otel-a"
        ] == [(2, {"sessionkv.node.id": "otel-a"})]
        await store.delete([key for key in await store.keys("")])  # the store loses everything
        await registry.heartbeat()
        metrics = recorded.metrics()
        assert metrics[telemetry.HEARTBEAT_DURATION].unit == "s"
        assert [p.count for p in metrics[telemetry.HEARTBEAT_DURATION].data.data_points] == [1]
        assert [p.value for p in metrics[telemetry.RECORDS_RESTORED].data.data_points] == [2]
    node = SessionNode(SessionRegistry(store, node_id="otel-b", ttl=60.0))
    async with node:
        await node.start_session("call", "s3", lambda: _forever())
        other = SessionRegistry(store, node_id="otel-c", ttl=5.0)
        async with other:
            assert await other.request_close("call", "s3")
        await node.maintain()
        working, node.registry.store = node.registry.store, adapt(UnwritableStore())  # the next cycle fails
        await node._maintain_logged()
        node.registry.store = working
    metrics = recorded.metrics()
    (closed,) = metrics[telemetry.CLOSE_REQUESTS].data.data_points
    assert closed.value == 1
    (failed,) = metrics[telemetry.MAINTENANCE_FAILURES].data.data_points
    assert failed.value == 1 and "error.type" in failed.attributes


class UnwritableStore(FailingStore):
    """A store whose writes fail too (a heartbeat's first call is a set)."""

    async def set(self, key: str, value: bytes, ttl: float, *, only_if_exists: bool = False) -> None:
        raise Broken("cannot write")


async def _forever() -> None:
    import asyncio

    await asyncio.Event().wait()
