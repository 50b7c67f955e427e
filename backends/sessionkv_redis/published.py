"""``RedisSessionKVStore``: the Redis store under the published API's name and constructor."""

from __future__ import annotations

from redis.asyncio import Redis, RedisCluster

from sessionkv import KeyPrefix

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
