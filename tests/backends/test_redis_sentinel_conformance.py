"""redis+sentinel:// is certified: the whole conformance suite through the sentinels of a real group."""

from __future__ import annotations

import pytest

from servers.ladder import Endpoint
from sessionkv_conformance import StoreConformance, StoreFactory
from sessionkv_redis.store import RedisStore


class TestRedisSentinelConformance(StoreConformance):
    @pytest.fixture
    def store_factory(self, redis_sentinel: Endpoint) -> StoreFactory:
        return lambda namespace: RedisStore(redis_sentinel.url, namespace=namespace)
