"""MemcachedStore under SIGSTOP: every kind of call (touch, keys and delete included) times out with StoreError,
and after SIGCONT the directory index lists what was written, frozen writes included. The faults common to
every backend (SIGKILL during a stream, SIGSTOP, registry outage) are in tests/hardening/test_hardening_faults.py."""

from __future__ import annotations

import asyncio
import os
import signal
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


async def test_sigstop_longer_than_the_timeout_then_sigcont(memcached_process: StartMemcached) -> None:
    server = memcached_process()
    async with open_store(server) as store:
        await store.mset([("d/a", b"1", 60), ("d/b", b"2", 60)])
        assert server.pid is not None
        os.kill(server.pid, signal.SIGSTOP)
        try:
            for call in calls(store, 0):
                with pytest.raises(StoreError, match="timed out"):  # wait_for's TimeoutError would mean: it hung
                    await asyncio.wait_for(call(), HANG)
        finally:
            os.kill(server.pid, signal.SIGCONT)
        assert await store.mget(["d/a", "d/b"]) == [b"1", b"2"]
        # Writes sent while frozen may still run after SIGCONT (their connection was dropped, not unsent).
        assert {"d/a", "d/b"} <= set(await store.keys("d/")) <= {"d/a", "d/b", "d/k0", "d/m0"}
        await store.set("d/c", b"3", 60)
        assert "d/c" in await store.keys("d/")
