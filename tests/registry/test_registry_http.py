"""The HTTP operator API over real HTTP: uvicorn on a free loopback port, httpx as the client."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import quote

import httpx
import pytest
import pytest_asyncio
import uvicorn
from registry_support import InstrumentedStore, OpenStore, eventually, true_when

from sessionkv import SessionNode, SessionRegistry
from sessionkv.http import create_app

pytestmark = pytest.mark.asyncio

INTERVAL = 0.05
TTL = 0.5


@dataclass
class Served:
    client: httpx.AsyncClient
    node: SessionNode
    store: InstrumentedStore


@pytest_asyncio.fixture
async def served(open_shared: OpenStore) -> AsyncIterator[Served]:
    store = InstrumentedStore(await open_shared())
    node = SessionNode(store, node_id="http-node", ttl=TTL, maintenance_interval=INTERVAL)
    await node.start()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    app = create_app(node.registry, node=node, store_timeout=1.0)
    # Bounded graceful shutdown: a keep-alive connection the server has not yet seen closed must not hang teardown.
    config = uvicorn.Config(app, log_level="warning", lifespan="off", timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]))
    await eventually(true_when(lambda: server.started or task.done()))
    assert server.started, task
    client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5)
    try:
        yield Served(client, node, store)
    finally:
        await asyncio.wait_for(client.aclose(), 5)
        server.should_exit = True
        await asyncio.wait_for(task, 10)
        sock.close()
        await asyncio.wait_for(node.stop(), 10)


def path(call_id: str, session_id: str) -> str:
    return f"/sessions/{quote(call_id, safe='')}/{quote(session_id, safe='')}"


async def test_list_get_and_close_from_any_node(served: Served, open_shared: OpenStore) -> None:
    async with SessionNode(await open_shared(), node_id="owner", ttl=TTL, maintenance_interval=INTERVAL) as owner:
        tasks = {}
        for call_id, session_id in [("call/1", "s*1"), ("call/1", "s 2"), ("call/10", "é?"), ("call", "x")]:
            tasks[session_id] = await owner.start_session(call_id, session_id, asyncio.Event().wait)
        everything = (await served.client.get("/sessions")).json()
        assert sorted((s["call_id"], s["session_id"]) for s in everything) == [
            ("call", "x"),
            ("call/1", "s 2"),
            ("call/1", "s*1"),
            ("call/10", "é?"),
        ]
        one_call = await served.client.get("/sessions", params={"call": "call/1"})
        assert one_call.status_code == 200
        assert sorted(s["session_id"] for s in one_call.json()) == ["s 2", "s*1"]

        got = await served.client.get(path("call/10", "é?"))
        assert got.status_code == 200
        assert got.json()["node_id"] == "owner" and got.json()["session_id"] == "é?"
        assert (await served.client.get(path("call/1", "nope"))).status_code == 404
        assert (await served.client.get("/sessions/only-one-segment")).status_code == 404
        assert (await served.client.get("/sessions", params={"call": ""})).status_code == 400

        closed = await served.client.delete(path("call/1", "s*1"))
        assert closed.status_code == 202
        assert closed.json() == {"close_requested": True, "call_id": "call/1", "session_id": "s*1", "node_id": "owner"}
        await asyncio.wait_for(asyncio.gather(tasks["s*1"], return_exceptions=True), 5)
        assert tasks["s*1"].cancelled() and not tasks["s 2"].done()

        async def gone() -> bool:
            return (await served.client.get(path("call/1", "s*1"))).status_code == 404

        await eventually(gone)
        assert (await served.client.delete(path("call/1", "s*1"))).status_code == 404

        nodes = (await served.client.get("/nodes")).json()
        assert {(n["node_id"], n["sessions"]) for n in nodes} >= {("owner", 3)}
        assert "http-node" in {n["node_id"] for n in nodes}
        # /nodes shows the last heartbeat: the serving node's maintenance beats every INTERVAL, its count unchanged
        beat = {n["node_id"]: n["last_heartbeat"] for n in nodes}["http-node"]

        async def beat_again() -> bool:
            later = {n["node_id"]: n for n in (await served.client.get("/nodes")).json()}["http-node"]
            return bool(later["last_heartbeat"] > beat)

        await eventually(beat_again)


async def test_health_reports_store_failure_and_stale_maintenance(served: Served) -> None:
    async def healthy() -> bool:  # a slow server may take a cycle or two to be fresh
        ok = await served.client.get("/health")
        body = ok.json()
        fresh = body["status"] == "ok" and body["store"] == "ok" and not body["maintenance_stale"]
        return ok.status_code == 200 and fresh

    await eventually(healthy)

    served.store.failing = True  # everything fails: the store does not answer
    down = await served.client.get("/health")
    assert down.status_code == 503
    assert down.json()["status"] == "unavailable" and "injected failure" in down.json()["store"]

    served.store.fail_only = {"set", "touch", "mset"}  # reads work, heartbeats fail: the loop goes stale
    failures = served.node.failures
    await eventually(true_when(lambda: served.node.is_stale() and served.node.failures > failures))
    stale = await served.client.get("/health")
    assert stale.status_code == 503
    body = stale.json()
    assert body["store"] == "ok" and body["maintenance_stale"] is True
    assert "injected failure" in body["last_error"]

    served.store.failing = False
    await eventually(true_when(lambda: not served.node.is_stale()))
    await eventually(healthy)  # the probe of a loaded server may need another cycle (a CI run got one more 503)


async def test_health_without_a_node_checks_the_store_only(open_shared: OpenStore) -> None:
    store = InstrumentedStore(await open_shared())
    async with SessionRegistry(store, node_id="api", ttl=TTL) as registry:
        transport = httpx.ASGITransport(app=create_app(registry))
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            assert (await client.get("/health")).status_code == 200
            store.failing = True
            assert (await client.get("/health")).status_code == 503
