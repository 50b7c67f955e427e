"""MemcachedStore under faults: SIGKILL during a stream of calls and SIGSTOP longer than the timeout give a
bounded StoreError, and the same store object works again after a restart (same port) or SIGCONT."""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections.abc import Awaitable, Callable

import pytest

from servers.memcached_process import memcached_url
from servers.process import ServerProcess
from sessionkv import StoreError
from sessionkv_memcached.store import MemcachedStore

pytestmark = pytest.mark.asyncio

StartMemcached = Callable[..., ServerProcess]
TIMEOUT = 0.5
#: A call must end (answer or StoreError) within its timeout plus this; beyond it, it hangs.
HANG = TIMEOUT + 2.0


def open_store(server: ServerProcess) -> MemcachedStore:
    url = memcached_url(server, timeout=str(TIMEOUT), connect_timeout=str(TIMEOUT))
    return MemcachedStore(url, namespace=f"f-{uuid.uuid4().hex[:12]}:")


def calls(store: MemcachedStore, i: int) -> list[Callable[[], Awaitable[object]]]:
    """One of each kind of call, on keys of a directory and of the root."""
    return [
        lambda: store.set(f"d/k{i}", b"v", 60),
        lambda: store.mset([(f"d/m{i}", b"v", 60), (f"r{i}", b"v", 60)]),
        lambda: store.get(f"d/k{i}"),
        lambda: store.mget([f"d/k{i}", f"r{i}"]),
        lambda: store.touch([f"d/k{i}", "missing"], 60),
        lambda: store.expire(f"r{i}", ttl=60),
        lambda: store.keys("d/"),
        lambda: store.delete([f"r{i}"]),
    ]


async def stream(store: MemcachedStore, stop: asyncio.Event, outcomes: list[str]) -> None:
    """Call the store in a loop until ``stop``; record each call's outcome; fail if one outlives HANG."""
    i = 0
    while not stop.is_set():
        for call in calls(store, i):
            started = time.monotonic()
            try:
                await asyncio.wait_for(call(), HANG)
                outcomes.append("ok")
            except StoreError as exc:
                assert exc.__cause__ is not None
                outcomes.append("error")
            assert time.monotonic() - started < HANG
        i += 1
        await asyncio.sleep(0.005)


async def test_sigkill_during_a_stream_then_restart_same_store_recovers(memcached_process: StartMemcached) -> None:
    server = memcached_process()
    async with open_store(server) as store:
        stop, outcomes = asyncio.Event(), []
        runner = asyncio.create_task(stream(store, stop, outcomes))
        await asyncio.sleep(0.3)
        assert server.pid is not None
        os.kill(server.pid, signal.SIGKILL)
        await asyncio.sleep(0.5)
        errors_while_down = outcomes.count("error")
        server.restart()  # same port, empty cache
        await asyncio.sleep(0.5)
        stop.set()
        await asyncio.wait_for(runner, 30)
        assert "ok" in outcomes and errors_while_down > 0 and outcomes[-1] == "ok"
        await store.set("after/restart", b"v", 60)
        assert await store.get("after/restart") == b"v"
        assert "after/restart" in await store.keys("")


async def test_sigstop_longer_than_the_timeout_then_sigcont(memcached_process: StartMemcached) -> None:
    server = memcached_process()
    async with open_store(server) as store:
        await store.mset([("d/a", b"1", 60), ("d/b", b"2", 60)])
        assert server.pid is not None
        os.kill(server.pid, signal.SIGSTOP)
        try:
            for call in calls(store, 0):
                started = time.monotonic()
                with pytest.raises(StoreError, match="timed out"):
                    await asyncio.wait_for(call(), HANG)
                assert time.monotonic() - started < HANG
        finally:
            os.kill(server.pid, signal.SIGCONT)
        assert await store.mget(["d/a", "d/b"]) == [b"1", b"2"]
        # Writes sent while frozen may still run after SIGCONT (their connection was dropped, not unsent).
        assert {"d/a", "d/b"} <= set(await store.keys("d/")) <= {"d/a", "d/b", "d/k0", "d/m0"}
        await store.set("d/c", b"3", 60)
        assert "d/c" in await store.keys("d/")
