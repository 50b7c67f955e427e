"""The published design's stores written out: Vision Agents' ``InMemorySessionKVStore`` and ``RedisSessionKVStore``.

``vision-agents`` itself pulls in aiortc, av, onnxruntime and a WebRTC SDK, so the bench carries the
same algorithms instead: a dict of ``(value, monotonic deadline)`` checked lazily, and Redis with a
plain ``SET PX``, a ``MULTI`` pipeline of ``SET PX`` for ``mset``, a ``MULTI`` pipeline of ``PEXPIRE``
for ``expire``, ``MGET``, and ``SCAN MATCH prefix*`` for ``keys``. No validation, as published.
"""

from __future__ import annotations

import time
from typing import Any

import redis.asyncio as aioredis


class PublishedMemoryStore:
    """The published in-memory store: a dict of ``key -> (value, deadline)``, expiry checked on access."""

    def __init__(self) -> None:
        self._data: dict[str, tuple[bytes, float]] = {}

    async def start(self) -> None:
        """Nothing to open (the published store starts a cleanup task; the bench never waits for it)."""

    async def close(self) -> None:
        """Drop everything, as published."""
        self._data.clear()

    async def set(self, key: str, value: bytes, ttl: float, *, only_if_exists: bool = False) -> None:
        """Store ``value`` with a deadline; ``only_if_exists`` skips missing or expired keys."""
        if only_if_exists:
            entry = self._data.get(key)
            if entry is None or time.monotonic() >= entry[1]:
                return
        self._data[key] = (value, time.monotonic() + ttl)

    async def mset(self, items: list[tuple[str, bytes, float]]) -> None:
        """Store every item with one clock read."""
        now = time.monotonic()
        for key, value, ttl in items:
            self._data[key] = (value, now + ttl)

    async def expire(self, *keys: str, ttl: float) -> None:
        """Move the deadline of live keys; expired ones are dropped."""
        now = time.monotonic()
        for key in keys:
            entry = self._data.get(key)
            if entry is None:
                continue
            if now >= entry[1]:
                del self._data[key]
                continue
            self._data[key] = (entry[0], now + ttl)

    async def get(self, key: str) -> bytes | None:
        """The value, or ``None`` when missing or expired (then dropped)."""
        entry = self._data.get(key)
        if entry is None:
            return None
        if time.monotonic() >= entry[1]:
            del self._data[key]
            return None
        return entry[0]

    async def mget(self, keys: list[str]) -> list[bytes | None]:
        """Values in order, one clock read."""
        now = time.monotonic()
        results: list[bytes | None] = []
        for key in keys:
            entry = self._data.get(key)
            if entry is None:
                results.append(None)
            elif now >= entry[1]:
                del self._data[key]
                results.append(None)
            else:
                results.append(entry[0])
        return results

    async def keys(self, prefix: str) -> list[str]:
        """A linear scan of the whole dict (what makes the published ``get_for_call`` grow with the store)."""
        now = time.monotonic()
        found: list[str] = []
        expired: list[str] = []
        for key, (_, deadline) in self._data.items():
            if key.startswith(prefix):
                (expired if now >= deadline else found).append(key)
        for key in expired:
            del self._data[key]
        return found

    async def delete(self, keys: list[str]) -> None:
        """Drop keys; missing ones are ignored."""
        for key in keys:
            self._data.pop(key, None)


class PublishedRedisStore:
    """The published Redis store on a redis.asyncio client: one command or one MULTI pipeline per call."""

    def __init__(self, client: aioredis.Redis, key_prefix: str = "vision_agents:") -> None:
        self._redis = client
        self._prefix = key_prefix

    async def start(self) -> None:
        """PING, as published."""
        await self._redis.ping()

    async def close(self) -> None:
        """The client is the caller's: nothing to close."""

    async def set(self, key: str, value: bytes, ttl: float, *, only_if_exists: bool = False) -> None:
        """``SET key value PX ms [XX]``."""
        await self._redis.set(self._prefix + key, value, px=int(ttl * 1000), xx=only_if_exists)

    async def mset(self, items: list[tuple[str, bytes, float]]) -> None:
        """``MULTI``, one ``SET PX`` per item, ``EXEC``."""
        async with self._redis.pipeline() as pipe:
            for key, value, ttl in items:
                pipe.set(self._prefix + key, value, px=int(ttl * 1000))
            await pipe.execute()

    async def expire(self, *keys: str, ttl: float) -> None:
        """``MULTI``, one ``PEXPIRE`` per key, ``EXEC``."""
        if not keys:
            return
        async with self._redis.pipeline() as pipe:
            for key in keys:
                pipe.pexpire(self._prefix + key, int(ttl * 1000))
            await pipe.execute()

    async def get(self, key: str) -> bytes | None:
        """``GET``."""
        value: Any = await self._redis.get(self._prefix + key)
        return value.encode() if isinstance(value, str) else value

    async def mget(self, keys: list[str]) -> list[bytes | None]:
        """``MGET``."""
        if not keys:
            return []
        values: list[Any] = await self._redis.mget([self._prefix + key for key in keys])
        return [v.encode() if isinstance(v, str) else v for v in values]

    async def keys(self, prefix: str) -> list[str]:
        """``SCAN MATCH prefix* COUNT 100`` over the whole keyspace."""
        cut = len(self._prefix)
        found: list[str] = []
        async for key in self._redis.scan_iter(match=f"{self._prefix}{prefix}*", count=100):
            found.append((key.decode() if isinstance(key, bytes) else key)[cut:])
        return found

    async def delete(self, keys: list[str]) -> None:
        """``DEL``."""
        if keys:
            await self._redis.delete(*[self._prefix + key for key in keys])
