"""redis:// and redis+cluster:// are certified: the whole conformance suite on real servers."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from servers.redis import RedisEndpoint
from sessionkv import SessionKVStore
from sessionkv_conformance import StoreConformance, StoreFactory
from sessionkv_redis.store import RedisStore


def fresh_namespace(tag: str) -> str:
    return f"certify-{tag}-{uuid.uuid4().hex}:"


class TestRedisConformance(StoreConformance):
    @pytest.fixture
    async def store(self, redis_server: RedisEndpoint) -> AsyncIterator[SessionKVStore]:
        async with RedisStore(redis_server.url, namespace=fresh_namespace("single")) as store:
            yield store

    @pytest.fixture
    def store_factory(self, redis_server: RedisEndpoint) -> StoreFactory:
        return lambda namespace: RedisStore(redis_server.url, namespace=namespace)


class TestRedisClusterConformance(StoreConformance):
    @pytest.fixture
    async def store(self, redis_cluster: RedisEndpoint) -> AsyncIterator[SessionKVStore]:
        async with RedisStore(redis_cluster.url, namespace=fresh_namespace("cluster")) as store:
            yield store

    @pytest.fixture
    def store_factory(self, redis_cluster: RedisEndpoint) -> StoreFactory:
        return lambda namespace: RedisStore(redis_cluster.url, namespace=namespace)
