"""SessionNode: sessions as tasks, close requests from other nodes, a maintenance loop that survives failures."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import pytest
from registry_support import InstrumentedStore, OpenStore, eventually, flush, true_when

from sessionkv import ConfigurationError, SessionNode, SessionRegistry, StoreNotStartedError

pytestmark = pytest.mark.asyncio

INTERVAL = 0.05
TTL = 0.3


def forever(log: list[str], name: str) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        log.append(f"{name} started")
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            log.append(f"{name} cancelled")
            raise

    return run


async def test_close_request_from_another_node_cancels_the_task(open_shared: OpenStore) -> None:
    events: list[str] = []
    async with (
        SessionNode(await open_shared(), node_id="owner", ttl=TTL, maintenance_interval=INTERVAL) as owner,
        SessionRegistry(await open_shared(), node_id="operator", ttl=TTL) as operator,
    ):
        doomed = await owner.start_session("call", "doomed", forever(events, "doomed"))
        kept = await owner.start_session("call", "kept", forever(events, "kept"))
        assert {info.session_id for info in await operator.get_for_call("call")} == {"doomed", "kept"}
        assert await operator.request_close("call", "doomed")
        await asyncio.wait_for(asyncio.gather(doomed, return_exceptions=True), 5)
        assert doomed.cancelled() and not kept.done()
        assert "doomed cancelled" in events and "kept cancelled" not in events
        assert owner.closed_by_request == 1
        await eventually(lambda: _ids(operator, "call", {"kept"}))
        assert owner.sessions() == [("call", "kept")]
    assert kept.cancelled()  # stopping the node cancels what still runs


async def _ids(reg: SessionRegistry, call: str, expected: set[str]) -> bool:
    return {info.session_id for info in await reg.get_for_call(call)} == expected


async def test_a_session_that_ends_is_removed(open_shared: OpenStore, caplog: pytest.LogCaptureFixture) -> None:
    store = await open_shared()
    gate = asyncio.Event()

    async def short() -> str:
        await gate.wait()
        return "done"

    async def broken() -> None:
        await gate.wait()
        raise RuntimeError("session blew up")

    async with SessionNode(store, node_id="n", ttl=TTL, maintenance_interval=INTERVAL) as node:
        ok = await node.start_session("c", "ok", short)
        bad = await node.start_session("c", "bad", broken, metadata={"kind": "broken"})
        info = await node.registry.get("c", "bad")
        assert info is not None and info.metadata == {"kind": "broken"}
        with caplog.at_level(logging.ERROR, logger="sessionkv.registry.node"):
            gate.set()
            assert await ok == "done"
            with pytest.raises(RuntimeError, match="blew up"):
                await bad
        assert "session blew up" in caplog.text
        await eventually(lambda: _ids(node.registry, "c", set()))
        assert await store.keys("") == [f"n/{'n'}"]  # only the node's liveness record is left


async def test_maintenance_loop_survives_a_failing_store(
    open_shared: OpenStore, caplog: pytest.LogCaptureFixture
) -> None:
    store = InstrumentedStore(await open_shared())
    async with (
        SessionNode(store, node_id="n", ttl=TTL, maintenance_interval=INTERVAL) as node,
        SessionRegistry(await open_shared(), node_id="watcher", ttl=TTL) as watcher,
    ):
        await node.start_session("c", "s", forever([], "s"))
        await eventually(true_when(lambda: not node.is_stale()))  # a slow server may take a cycle
        with caplog.at_level(logging.WARNING, logger="sessionkv.registry.node"):
            store.failing = True
            failures = node.failures
            # Fail for longer than the ttl: the record expires in the store meanwhile.
            await eventually(lambda: _ids(watcher, "c", set()))
            await eventually(true_when(lambda: node.failures >= failures + 3))
            assert node.is_stale() and node.running
            assert node.last_error is not None and "injected failure" in node.last_error
            store.failing = False
            await eventually(true_when(lambda: not node.is_stale()))
        assert "injected failure" in caplog.text
        assert node.last_error is None
        await eventually(lambda: _ids(watcher, "c", {"s"}))  # restored by the first good heartbeat
        assert node.sessions() == [("c", "s")]


async def test_sessions_survive_a_flush_through_the_loop(open_shared: OpenStore) -> None:
    store = await open_shared()
    async with (
        SessionNode(store, node_id="n", ttl=TTL, maintenance_interval=INTERVAL) as node,
        SessionRegistry(await open_shared(), node_id="watcher", ttl=TTL) as watcher,
    ):
        for i in range(5):
            await node.start_session("c", f"s{i}", forever([], f"s{i}"))
        await flush(store)
        await eventually(lambda: _ids(watcher, "c", {f"s{i}" for i in range(5)}))
        assert [(n.node_id, n.sessions) for n in await watcher.nodes()] == [("n", 5)]


async def test_an_abandoned_node_loses_its_sessions_after_the_ttl(open_shared: OpenStore) -> None:
    # The crashing node's ttl leaves room for the check right after the crash on a loaded machine (at 0.3 s a
    # busy CI worker saw the record expire before it looked).
    async with (
        SessionNode(await open_shared(), node_id="crash", ttl=5 * TTL, maintenance_interval=INTERVAL) as crash,
        SessionNode(await open_shared(), node_id="live", ttl=TTL, maintenance_interval=INTERVAL) as live,
    ):
        events: list[str] = []
        await crash.start_session("c", "gone", forever(events, "gone"))
        await live.start_session("c", "stays", forever(events, "stays"))
        await crash.abandon()
        # No cleanup on a crash: the record is still there right after.
        assert await _ids(live.registry, "c", {"gone", "stays"})
        await eventually(lambda: _ids(live.registry, "c", {"stays"}))
        assert [n.node_id for n in await live.registry.nodes()] == ["live"]


async def test_stop_removes_every_session(open_shared: OpenStore) -> None:
    store = await open_shared()
    node = SessionNode(store, node_id="n", ttl=TTL, maintenance_interval=INTERVAL)
    await node.start()
    tasks = [await node.start_session("c", f"s{i}", forever([], "x")) for i in range(3)]
    assert len(await node.registry.get_for_call("c")) == 3
    await node.stop()
    assert all(task.cancelled() for task in tasks)
    assert await store.keys("") == []


async def test_ttl_must_cover_three_intervals() -> None:
    with pytest.raises(ConfigurationError, match="at least 3 x"):
        SessionNode(ttl=10, maintenance_interval=5)
    with pytest.raises(ConfigurationError, match="at least 3 x"):
        SessionNode(SessionRegistry(ttl=2.9), maintenance_interval=1)
    with pytest.raises(ConfigurationError, match="maintenance_interval"):
        SessionNode(maintenance_interval=0)
    with pytest.raises(ConfigurationError, match="not to a SessionNode"):
        SessionNode(SessionRegistry(ttl=30), ttl=30)
    assert SessionNode(ttl=3, maintenance_interval=1).maintenance_interval == 1
    assert SessionNode(ttl=0.6, maintenance_interval=0.2).registry.ttl == 0.6  # 3 x 0.2 despite float rounding


async def test_start_session_misuse() -> None:
    node = SessionNode(ttl=TTL, maintenance_interval=INTERVAL)
    with pytest.raises(StoreNotStartedError):
        await node.start_session("c", "s", forever([], "s"))
    async with node:
        await node.start_session("c", "s", forever([], "s"))
        with pytest.raises(ValueError, match="already runs"):
            await node.start_session("c", "s", forever([], "s"))
        with pytest.raises(TypeError):
            await node.start_session("c", "t", "not callable")  # type: ignore[arg-type]
        assert node.sessions() == [("c", "s")]
        assert await node.close_session("c", "s") is True
        assert await node.close_session("c", "s") is False
        assert await node.registry.get_for_call("c") == []
