"""redis:// and redis+cluster:// are certified: the whole conformance suite on real servers, with each index type
(``index_type=hash`` on a server that expires hash fields)."""

from __future__ import annotations

import pytest

from servers.redis import RedisEndpoint
from sessionkv_conformance import StoreConformance, StoreFactory
from sessionkv_redis.store import RedisStore


class TestRedisConformance(StoreConformance):
    @pytest.fixture
    def store_factory(self, redis_server: RedisEndpoint) -> StoreFactory:
        return lambda namespace: RedisStore(redis_server.url, namespace=namespace)


class TestRedisClusterConformance(StoreConformance):
    @pytest.fixture
    def store_factory(self, redis_cluster: RedisEndpoint) -> StoreFactory:
        return lambda namespace: RedisStore(redis_cluster.url, namespace=namespace)


class TestRedisHashIndexConformance(StoreConformance):
    @pytest.fixture
    def store_factory(self, redis_hash_server: RedisEndpoint) -> StoreFactory:
        return lambda namespace: RedisStore(redis_hash_server.url, namespace=namespace)


class TestRedisClusterHashIndexConformance(StoreConformance):
    @pytest.fixture
    def store_factory(self, redis_hash_cluster: RedisEndpoint) -> StoreFactory:
        return lambda namespace: RedisStore(redis_hash_cluster.url, namespace=namespace)
