"""GET /metrics of the operator API: sessionkv's OpenTelemetry metrics in Prometheus text, behind the token."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from sessionkv import SessionNode, open_store, telemetry
from sessionkv.http import create_app
from sessionkv.http.metrics import PrometheusMetrics, prometheus_metrics

pytestmark = pytest.mark.asyncio

TOKEN = "s3cret-token"


@pytest_asyncio.fixture
async def metrics() -> AsyncIterator[PrometheusMetrics]:
    found = prometheus_metrics()
    assert found is not None, "the test extra installs the SDK and the Prometheus exporter"
    telemetry.configure(meter_provider=found.provider)
    try:
        yield found
    finally:
        telemetry.configure()
        found.shutdown()


async def test_metrics_need_the_token_and_show_store_calls_and_the_registry(metrics: PrometheusMetrics) -> None:
    async with SessionNode(open_store("memory://"), node_id="metrics-node", ttl=30) as node:
        await node.registry.register("call-1", "session-1")
        await node.registry.heartbeat()
        app = create_app(node.registry, node=node, token=TOKEN, metrics=metrics)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            refused = await client.get("/metrics")
            assert refused.status_code == 401
            reply = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/plain")
    text = reply.text
    duration = [line for line in text.splitlines() if line.startswith("db_client_operation_duration_seconds_count{")]
    assert any('db_system_name="memory"' in line and 'db_operation_name="mset"' in line for line in duration), text
    sessions = [line for line in text.splitlines() if line.startswith("sessionkv_registry_sessions")]
    assert any('sessionkv_node_id="metrics-node"' in line and line.endswith(" 1.0") for line in sessions), sessions
    assert "call-1" not in text and "session-1" not in text  # never keys or ids of sessions


async def test_without_the_exporter_metrics_answer_503_saying_what_to_install() -> None:
    async with SessionNode(open_store("memory://"), node_id="no-metrics", ttl=30) as node:
        app = create_app(node.registry, node=node)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            reply = await client.get("/metrics")
    assert reply.status_code == 503
    assert 'pip install "sessionkv[prometheus]"' in reply.json()["error"]
