"""OpenTelemetry (issue #28): every backend's calls as spans and db.client.operation.duration, and the registry and
node metrics, read back from the SDK's in-memory readers on real servers; nothing recorded without a provider."""

from __future__ import annotations

import asyncio
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
from sessionkv.registry.keys import node_key, session_key

#: (id, fixture giving the server, db.system.name, whether server.address is known)
BACKENDS = [
    ("memory", None, "memory", False),
    ("redis", "redis_server", "redis", True),
    ("redis-cluster", "redis_cluster", "redis", True),
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
        if data is None:  # nothing recorded yet
            return {}
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
        assert_client_span(span, system, has_server)
        values = [str(v) for v in dict(span.attributes or {}).values()]
        assert all(secret_key not in v and "secret-value" not in v for v in values)
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


def _registry_points(recorded: Recorded, name: str, node_id: str) -> list[Any]:
    """``name``'s data points of one node (other tests' registries may still be alive in this process)."""
    metric = recorded.metrics().get(name)
    return (
        [] if metric is None else [p for p in metric.data.data_points if p.attributes["sessionkv.node.id"] == node_id]
    )


@pytest.mark.asyncio
@pytest.mark.parametrize(("fixture", "system", "has_server"), [b[1:] for b in BACKENDS], ids=[b[0] for b in BACKENDS])
async def test_registry_and_node_report_sessions_heartbeats_restores_failures_and_close_requests(
    request: pytest.FixtureRequest, recorded: Recorded, fixture: str | None, system: str, has_server: bool
) -> None:
    tag = uuid.uuid4().hex[:8]
    owner, runner, closer = f"otel-a-{tag}", f"otel-b-{tag}", f"otel-c-{tag}"
    async with open_store(_url(request, fixture), namespace=f"otelreg{tag}:") as store:
        async with SessionRegistry(store, node_id=owner, ttl=5.0) as registry:
            await registry.register("call", "s1")
            await registry.register("call", "s2")
            sessions = recorded.metrics()[telemetry.REGISTRY_SESSIONS]
            assert sessions.unit == "{session}"
            assert [(p.value, dict(p.attributes)) for p in _registry_points(recorded, sessions.name, owner)] == [
                (2, {"sessionkv.node.id": owner})
            ]
            # The store loses this registry's records (the node record included): the heartbeat restores both.
            await store.delete([session_key("call", "s1"), session_key("call", "s2"), node_key(owner)])
            assert await store.mget([session_key("call", "s1"), session_key("call", "s2")]) == [None, None]
            recorded.spans.clear()
            result = await registry.heartbeat()
            assert result.restored == 2
            assert await store.get(session_key("call", "s1")) is not None
            # The heartbeat's store calls are client spans of this backend.
            spans = recorded.spans.get_finished_spans()
            names = [span.name for span in spans]
            assert "set" in names and "mset" in names and set(names) <= {"get", "set", "touch", "mset"}, names
            for span in spans:
                assert_client_span(span, system, has_server)
            durations = recorded.metrics()[telemetry.OPERATION_DURATION]
            assert durations.unit == "s"
            assert {p.attributes["db.system.name"] for p in durations.data.data_points} == {system}
            assert {"set", "mset"} <= {p.attributes["db.operation.name"] for p in durations.data.data_points}
            heartbeat = recorded.metrics()[telemetry.HEARTBEAT_DURATION]
            assert heartbeat.unit == "s"
            (beat,) = _registry_points(recorded, heartbeat.name, owner)
            assert beat.count == 1 and beat.sum > 0 and dict(beat.attributes) == {"sessionkv.node.id": owner}
            restored = recorded.metrics()[telemetry.RECORDS_RESTORED]
            assert restored.unit == "{record}"
            assert [(p.value, dict(p.attributes)) for p in _registry_points(recorded, restored.name, owner)] == [
                (2, {"sessionkv.node.id": owner})
            ]
        # maintenance_interval well beyond the test's length: only the cycles run below happen.
        node = SessionNode(SessionRegistry(store, node_id=runner, ttl=30.0), maintenance_interval=10.0)
        async with node:
            task = await node.start_session("call", "s3", lambda: _forever())
            assert [p.value for p in _registry_points(recorded, telemetry.REGISTRY_SESSIONS, runner)] == [1]
            async with SessionRegistry(store, node_id=closer, ttl=5.0) as other:
                assert await other.request_close("call", "s3")
            await node.maintain()
            await asyncio.gather(task, return_exceptions=True)
            assert task.cancelled() and node.sessions() == []
            await node._finish_cleanups()  # s3's record is removed before the store breaks
            working, node.registry.store = node.registry.store, adapt(UnwritableStore())  # the next cycle fails
            await node._maintain_logged()
            node.registry.store = working
            assert node.failures == 1 and node.closed_by_request == 1
        metrics = recorded.metrics()
        assert metrics[telemetry.CLOSE_REQUESTS].unit == "{request}"
        assert [
            (p.value, dict(p.attributes)) for p in _registry_points(recorded, telemetry.CLOSE_REQUESTS, runner)
        ] == [(1, {"sessionkv.node.id": runner})]
        assert metrics[telemetry.MAINTENANCE_FAILURES].unit == "{failure}"
        assert [
            (p.value, dict(p.attributes)) for p in _registry_points(recorded, telemetry.MAINTENANCE_FAILURES, runner)
        ] == [(1, {"sessionkv.node.id": runner, "error.type": f"{__name__}.Broken"})]
        # The node's successful cycles (start, maintain) were heartbeats of this backend; the failed one was not.
        (beats,) = _registry_points(recorded, telemetry.HEARTBEAT_DURATION, runner)
        assert beats.count == 2
        assert _registry_points(recorded, telemetry.RECORDS_RESTORED, runner) == []  # nothing of it was lost


class UnwritableStore(FailingStore):
    """A store whose writes fail too (a heartbeat's first call is a set)."""

    async def set(self, key: str, value: bytes, ttl: float, *, only_if_exists: bool = False) -> None:
        raise Broken("cannot write")


async def _forever() -> None:
    await asyncio.Event().wait()


def assert_client_span(span: Any, system: str, has_server: bool) -> None:
    """A successful store call's span: CLIENT kind, the backend's system and operation, the server if it has one."""
    attributes = dict(span.attributes or {})
    assert span.kind is SpanKind.CLIENT
    assert attributes["db.system.name"] == system
    assert attributes["db.operation.name"] == span.name
    assert ("server.address" in attributes) is has_server
    assert ("server.port" in attributes) is has_server
    assert "error.type" not in attributes
