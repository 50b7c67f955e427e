"""A dead DynamoDB endpoint: every operation (both kinds of listing included) raises StoreError within its timeout
budget. SIGKILL and SIGSTOP during a stream of calls, common to every backend, are tested in
tests/hardening/test_hardening_faults.py."""

from __future__ import annotations

import asyncio
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


def url_of(server: ServerProcess, **options: Any) -> str:
    timeouts = {"connect_timeout": CONNECT, "read_timeout": READ, "retries": RETRIES, **options}
    return table_url(f"http://{server.host}:{server.port}", "faults", **{k: str(v) for k, v in timeouts.items()})


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
