"""Server faults, the same tests on every server backend: SIGKILL during a stream of calls, SIGSTOP longer than
the timeout, and a registry node riding out an outage then re-registering everything after an empty restart.

Each call must end (answer or ``StoreError``) within ``Faulty.bound`` (the worst case the backend's timeout
options allow, documented in docs/guarantees.md) plus a margin for a loaded machine: a bound, not a speed
claim. The same store object must work again afterwards, without being reopened.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import pytest
from fault_servers import Faulty
from hardening_support import MARGIN, namespace

from sessionkv import SessionKVStore, SessionNode, SessionRegistry, StoreError

pytestmark = pytest.mark.asyncio


@dataclass
class Outcomes:
    """What a stream of calls saw: counts per outcome, the slowest call, and every error's type."""

    counts: Counter[str] = field(default_factory=Counter)
    slowest: float = 0.0
    slowest_call: str = ""

    def record(self, what: str, outcome: str, seconds: float) -> None:
        self.counts[outcome] += 1
        if seconds > self.slowest:
            self.slowest, self.slowest_call = seconds, what


class CallStream:
    """One task calling ``set``/``mget``/``expire`` in a loop until stopped; anything but ``StoreError`` fails it.

    A call that outlives ``limit`` is cancelled and fails the stream (a hang), so the test ends either way.
    """

    def __init__(self, store: SessionKVStore, limit: float) -> None:
        self.store, self.limit = store, limit
        self.outcomes = Outcomes()
        self.running = True
        self.task = asyncio.ensure_future(self._run())

    def _calls(self, i: int) -> list[tuple[str, Callable[[], Awaitable[object]]]]:
        store = self.store
        return [
            ("set", lambda: store.set(f"s/{i % 20}", b"v%d" % i, 30)),
            ("mget", lambda: store.mget([f"s/{i % 20}", f"s/{(i + 1) % 20}", "s/missing"])),
            ("expire", lambda: store.expire(f"s/{i % 20}", f"s/{(i + 7) % 20}", ttl=30)),
        ]

    async def _run(self) -> None:
        i = 0
        while self.running:
            for name, call in self._calls(i):
                started = time.monotonic()
                try:
                    await asyncio.wait_for(call(), self.limit)
                    outcome = "ok"
                except StoreError as exc:
                    assert exc.__cause__ is not None or exc.__context__ is not None, f"{name}: no cause chained"
                    outcome = "error"
                except TimeoutError:
                    raise AssertionError(f"{name} did not end within {self.limit:.1f} s: it hangs") from None
                self.outcomes.record(name, outcome, time.monotonic() - started)
            i += 1
            await asyncio.sleep(0.01)

    async def wait_for(self, outcome: str, count: int, within: float = 60.0) -> None:
        """Wait until ``count`` more calls ended with ``outcome`` (re-raising the stream's failure, if any)."""
        target = self.outcomes.counts[outcome] + count
        deadline = time.monotonic() + within
        while self.outcomes.counts[outcome] < target:
            if self.task.done():
                self.task.result()
                raise AssertionError("the call stream ended early")
            assert time.monotonic() < deadline, f"no {count} x {outcome} within {within} s: {self.outcomes}"
            await asyncio.sleep(0.02)

    async def stop(self) -> Outcomes:
        self.running = False
        await self.task
        return self.outcomes


def limit_of(faulty: Faulty) -> float:
    return faulty.bound + MARGIN


async def test_sigkill_during_a_stream_every_call_ends_and_the_same_store_recovers(faulty: Faulty) -> None:
    async with faulty.open(namespace("kill")) as store:
        stream = CallStream(store, limit_of(faulty))
        await stream.wait_for("ok", 15)
        faulty.kill()
        await stream.wait_for("error", 6)
        await faulty.restart()
        await faulty.healed()
        await stream.wait_for("ok", 15)
        outcomes = await stream.stop()
        assert outcomes.slowest <= limit_of(faulty), outcomes
        await store.set("after", b"restart", 30)
        assert await store.get("after") == b"restart"
        assert "after" in await store.keys("")


async def test_sigstop_longer_than_the_timeout_fails_bounded_and_recovers_after_sigcont(faulty: Faulty) -> None:
    async with faulty.open(namespace("stop")) as store:
        await store.set("kept", b"v", 60)
        stream = CallStream(store, limit_of(faulty))
        await stream.wait_for("ok", 15)
        faulty.freeze()
        try:
            await stream.wait_for("error", 3)
        finally:
            faulty.thaw()
        await faulty.healed()
        await stream.wait_for("ok", 15)
        outcomes = await stream.stop()
        assert outcomes.slowest <= limit_of(faulty), outcomes
        assert await store.get("kept") == b"v"


INTERVAL = 0.5
TTL = 3 * INTERVAL
SESSIONS = 12


async def _live_sessions(registry: SessionRegistry) -> set[str]:
    return {info.session_id for info in await registry.get_for_call("c")}


async def test_registry_node_rides_out_an_outage_and_re_registers_within_one_heartbeat(faulty: Faulty) -> None:
    ns = namespace("reg")
    idle = asyncio.Event()
    async with (
        faulty.open(ns) as store,
        faulty.open(ns) as watcher_store,
        SessionNode(store, node_id="n", ttl=TTL, maintenance_interval=INTERVAL) as node,
        SessionRegistry(watcher_store, node_id="watcher", ttl=TTL) as watcher,
    ):
        tasks = [await node.start_session("c", f"s{i}", idle.wait) for i in range(SESSIONS)]
        assert await _live_sessions(watcher) == {f"s{i}" for i in range(SESSIONS)}
        failures = node.failures
        faulty.kill()
        deadline = time.monotonic() + 60
        while node.failures < failures + 4:  # an outage of several maintenance intervals
            assert time.monotonic() < deadline, "the maintenance loop stopped reporting failures"
            await asyncio.sleep(INTERVAL / 5)
        assert node.running and node.is_stale() and node.last_error is not None
        assert not any(task.done() for task in tasks), "an outage of the store must not end sessions"
        await faulty.restart(empty=True)
        restarted = time.time()
        while node.last_maintenance is None or node.last_maintenance < restarted:
            assert time.monotonic() < deadline + 60, f"no successful heartbeat after the restart: {node.last_error}"
            await asyncio.sleep(INTERVAL / 10)
        # The first heartbeat that succeeded after the restart re-wrote everything.
        listed = await asyncio.wait_for(_live_sessions(watcher), limit_of(faulty))
        assert listed == {f"s{i}" for i in range(SESSIONS)}
        assert [(info.node_id, info.sessions) for info in await watcher.nodes()] == [("n", SESSIONS)]
        assert node.sessions() and not node.is_stale()
        idle.set()
