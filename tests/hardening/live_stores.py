"""A store on each backend's session-wide test server, driven from sync (hypothesis) tests on a loop of their own.

``live_url`` (a fixture in conftest.py) gives a URL per backend; ``LiveStore`` starts a store on it once and runs
coroutines on its private event loop, so hypothesis can call it for many examples without reopening it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, TypeVar

from sessionkv import SessionKVStore, open_store

T = TypeVar("T")

#: backend -> the session fixture of tests/servers/ whose ``.url`` opens it (None: no server).
LIVE_FIXTURES: dict[str, str | None] = {
    "memory": None,
    "redis": "redis_server",
    "redis-cluster": "redis_cluster",
    "memcached": "memcached_server",
    "etcd": "etcd_server",
    "dynamodb": "dynamodb_table_url",
    "postgres": "postgres_server",
}


class LiveStore:
    """A started store on ``url`` in ``namespace``, with its own event loop; ``run`` awaits a coroutine on it."""

    def __init__(self, url: str, namespace: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.store: SessionKVStore = open_store(url, namespace=namespace)

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coroutine)

    def __enter__(self) -> LiveStore:
        self.run(self.store.start())
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            self.run(self._clear_and_close())
        finally:
            self.loop.close()

    async def _clear_and_close(self) -> None:
        try:
            left = await self.store.keys("")
            if left:
                await self.store.delete(left)
        finally:
            await self.store.close()
