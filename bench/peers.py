"""``KV`` adapters for the peer library aiocache (its Redis and memcached caches, bytes in and out).

aiocache has ``get``, ``set``, ``multi_get`` and ``multi_set`` with one ttl for the batch; its
``expire`` takes one key, so batch ``expire`` is not an operation it shares (a marked gap).
"""

from __future__ import annotations

from typing import Any


class AiocacheKV:
    """A ``KV`` over an aiocache cache (``NullSerializer(encoding=None)``: values stay bytes)."""

    supports = frozenset({"get", "set", "mget", "mset"})

    def __init__(self, cache: Any, *, integer_ttl: bool = False) -> None:
        self.cache = cache
        self.integer_ttl = integer_ttl  # memcached's exptime is whole seconds

    def _ttl(self, ttl: float) -> float | int:
        return int(ttl) if self.integer_ttl else ttl

    async def get(self, key: str) -> object:
        return await self.cache.get(key)

    async def set(self, key: str, value: bytes, ttl: float) -> object:
        return await self.cache.set(key, value, ttl=self._ttl(ttl))

    async def mget(self, keys: list[str]) -> object:
        return await self.cache.multi_get(keys)

    async def mset(self, items: list[tuple[str, bytes, float]]) -> object:
        return await self.cache.multi_set([(key, value) for key, value, _ in items], ttl=self._ttl(items[0][2]))

    async def expire(self, keys: list[str], ttl: float) -> object:
        raise NotImplementedError("aiocache has no batch expire")

    async def close(self) -> None:
        """Close the cache's connections."""
        await self.cache.close()


def aiocache_redis(url_host: str, port: int, namespace: str) -> AiocacheKV:
    """aiocache's ``RedisCache`` on ``host:port`` with keys under ``namespace``."""
    from aiocache import RedisCache
    from aiocache.serializers import NullSerializer

    return AiocacheKV(
        RedisCache(endpoint=url_host, port=port, namespace=namespace, serializer=NullSerializer(encoding=None))
    )


def aiocache_memcached(url_host: str, port: int, namespace: str, pool_size: int) -> AiocacheKV:
    """aiocache's ``MemcachedCache`` on ``host:port`` with keys under ``namespace``."""
    from aiocache import MemcachedCache
    from aiocache.serializers import NullSerializer

    cache = MemcachedCache(
        endpoint=url_host, port=port, namespace=namespace, pool_size=pool_size, serializer=NullSerializer(encoding=None)
    )
    return AiocacheKV(cache, integer_ttl=True)
