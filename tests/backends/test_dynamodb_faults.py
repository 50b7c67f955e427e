"""The DynamoDB endpoint dies or freezes during a stream of calls: every call ends (StoreError) within its
timeout budget, and the same store object works again once the endpoint is back."""

from __future__ import annotations

import asyncio
import os
import signal
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from servers.dynamodb_process import table_url
from servers.process import ServerProcess
from sessionkv import StoreError
from sessionkv_dynamodb.store import DynamoDBStore

pytestmark = pytest.mark.asyncio

StartMoto = Callable[..., ServerProcess]
CONNECT, READ, RETRIES = 0.5, 0.5, 1
#: A call that has not ended after this long hangs: (retries + 1) x (connect + read) plus generous slack.
HANG_BOUND = (RETRIES + 1) * (CONNECT + READ) + 10.0
WORKERS = 4


def url_of(server: ServerProcess, **options: Any) -> str:
    timeouts = {"connect_timeout": CONNECT, "read_timeout": READ, "retries": RETRIES, **options}
    return table_url(f"http://{server.host}:{server.port}", "faults", **{k: str(v) for k, v in timeouts.items()})


class CallStream:
    """``WORKERS`` tasks calling set/get/touch/mget in a loop; each outcome is counted, a hang fails the test."""

    def __init__(self, store: DynamoDBStore) -> None:
        self.store = store
        self.outcomes: Counter[str] = Counter()
        self.running = True
        self.tasks = [asyncio.ensure_future(self._work(i)) for i in range(WORKERS)]

    async def _work(self, n: int) -> None:
        store, key = self.store, f"f/{n}"
        calls = [
            lambda: store.set(key, b"v", 30),
            lambda: store.get(key),
            lambda: store.touch([key], 30),
            lambda: store.mget([key, "f/x"]),
        ]
        i = 0
        while self.running:
            try:
                await asyncio.wait_for(calls[i % len(calls)](), HANG_BOUND)  # TimeoutError = a hang: test fails
                self.outcomes["ok"] += 1
            except StoreError:
                self.outcomes["error"] += 1
                await asyncio.sleep(0.01)
            i += 1

    async def wait_for(self, outcome: str, count: int) -> None:
        target = self.outcomes[outcome] + count
        while self.outcomes[outcome] < target:
            for task in self.tasks:
                if task.done():
                    task.result()  # re-raise a hang or an unexpected error
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        self.running = False
        await asyncio.gather(*self.tasks)


async def test_killed_endpoint_fails_fast_and_the_same_store_works_after_restart(moto_process: StartMoto) -> None:
    server = moto_process()
    async with DynamoDBStore(url_of(server)) as store:
        stream = CallStream(store)
        await stream.wait_for("ok", 20)
        assert server.pid is not None
        os.kill(server.pid, signal.SIGKILL)
        await stream.wait_for("error", 2 * WORKERS)
        server.restart()  # same port; moto forgets everything, so the table is created again
        async with DynamoDBStore(url_of(server)):
            pass
        await stream.wait_for("ok", 20)
        await stream.stop()
        await store.set("after", b"restart", 30)
        assert await store.get("after") == b"restart"


async def test_frozen_endpoint_times_out_and_the_same_store_works_when_it_resumes(moto_process: StartMoto) -> None:
    server = moto_process()
    assert server.pid is not None
    async with DynamoDBStore(url_of(server)) as store:
        stream = CallStream(store)
        await stream.wait_for("ok", 20)
        os.kill(server.pid, signal.SIGSTOP)
        try:
            await stream.wait_for("error", 2 * WORKERS)  # read timeouts: calls end, none hangs
        finally:
            os.kill(server.pid, signal.SIGCONT)
        await stream.wait_for("ok", 20)
        await stream.stop()
        assert await store.get("f/0") == b"v"


async def test_every_operation_raises_store_error_on_a_dead_endpoint(moto_process: StartMoto) -> None:
    server = moto_process()
    async with DynamoDBStore(url_of(server)) as store:
        server.stop()
        calls: dict[str, Callable[[], Any]] = {
            "set": lambda: store.set("k/1", b"v", 5),
            "set only_if_exists": lambda: store.set("k/1", b"v", 5, only_if_exists=True),
            "get": lambda: store.get("k/1"),
            "mget": lambda: store.mget(["k/1", "k/2"]),
            "mset": lambda: store.mset([("k/1", b"v", 5)]),
            "expire": lambda: store.expire("k/1", ttl=5),
            "touch": lambda: store.touch(["k/1"], 5),
            "keys (query)": lambda: store.keys("k/"),
            "keys (scan)": lambda: store.keys(""),
            "delete": lambda: store.delete(["k/1"]),
        }
        failed = []
        for name, call in calls.items():
            try:
                await asyncio.wait_for(call(), HANG_BOUND)
            except StoreError as exc:
                assert "Could not connect to the endpoint" in str(exc), name
                failed.append(name)
        assert failed == list(calls)
