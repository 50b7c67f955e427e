"""redis:// and redis+cluster:// are certified: the whole conformance suite on real servers."""

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
