"""``RedisSessionKVStore``: the Redis store under the published API's name and constructor.

As published, it works before ``start()``: redis-py clients connect on their first command, so a call
made before ``start()`` (or after the last ``close()``) goes through the caller's ``client=``, or
through a client built from ``url=`` on first use. ``start()`` replaces that one with the store's own
(and reads the server's limits); ``close()`` closes it. A ``url=`` store used but never started keeps
its lazily built client until it is garbage-collected, as the published store does.
"""

from __future__ import annotations

from redis.asyncio import Redis, RedisCluster

from sessionkv import KeyPrefix

from .pipelining import Pipelining
from .server import quiet_close
from .store import RedisStore

#: The published design's default key prefix.
PUBLISHED_PREFIX = "vision_agents:"


class RedisSessionKVStore(RedisStore):
    """Exactly one of ``client`` (yours: never closed by the store) or ``url``; keys under ``key_prefix``."""

    def __init__(
        self,
        *,
        client: Redis | RedisCluster | None = None,
        url: str | None = None,
        key_prefix: str = PUBLISHED_PREFIX,
    ) -> None:
        if (client is None) == (url is None):
            raise ValueError("Provide either a Redis client or a URL (exactly one of client= and url=)")
        if not isinstance(key_prefix, str):
            raise TypeError(f"key_prefix must be str, not {type(key_prefix).__name__}")
        source: Redis | RedisCluster | str = client if client is not None else url  # type: ignore[assignment]
        super().__init__(source, namespace=KeyPrefix(key_prefix))  # raw, as published (any shape)
        self._lazy: Redis | RedisCluster | None = None
        self._lazy_pipelining: Pipelining | None = None

    @property
    def client(self) -> Redis | RedisCluster:
        """The client in use: the store's own once started; before that the caller's, or one built lazily."""
        client = self._client
        if client is not None:
            return client
        if self._borrowed is not None:
            return self._borrowed
        if self._lazy is None:
            assert self._config is not None
            self._lazy = self._config.build_client()
        return self._lazy

    @property
    def pipelining(self) -> Pipelining:
        """The store's own coalescing once started; before that, one over the client in use (built on first use)."""
        if self._pipelining is not None:
            return self._pipelining
        if self._lazy_pipelining is None:
            self._lazy_pipelining = Pipelining(self.client, max_inflight=self._inflight())
        return self._lazy_pipelining

    async def _start(self) -> None:
        pipelining, self._lazy_pipelining = self._lazy_pipelining, None
        if pipelining is not None:
            await pipelining.drain()
        lazy, self._lazy = self._lazy, None
        if lazy is not None:
            self._scripts = {}  # registered on the lazy client
            await quiet_close(lazy)
        await super()._start()
