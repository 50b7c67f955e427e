"""tiered(hot, durable) is certified: the whole conformance suite on tiered(memory, memory) (fast, no server),
tiered(redis, postgresql) and tiered(memcached, etcd) on real servers, versioned writes and leases included."""

from __future__ import annotations

import uuid

import pytest

from servers.ladder import Endpoint
from servers.redis import RedisEndpoint
from sessionkv import tiered
from sessionkv_conformance import StoreConformance, StoreFactory
from sessionkv_etcd.store import EtcdStore
from sessionkv_memcached.store import MemcachedStore
from sessionkv_memory.store import MemoryStore
from sessionkv_postgres.store import PostgresStore
from sessionkv_redis.store import RedisStore


class TestTieredMemoryConformance(StoreConformance):
    @pytest.fixture
    def store_factory(self) -> StoreFactory:
        tag = uuid.uuid4().hex[:8]
        return lambda namespace: tiered(
            MemoryStore(name=f"hot-{tag}", namespace=namespace), MemoryStore(name=f"durable-{tag}", namespace=namespace)
        )


class TestTieredRedisPostgresConformance(StoreConformance):
    @pytest.fixture
    def store_factory(self, redis_server: RedisEndpoint, postgres_server: Endpoint) -> StoreFactory:
        return lambda namespace: tiered(
            RedisStore(redis_server.url, namespace=namespace), PostgresStore(postgres_server.url, namespace=namespace)
        )


class TestTieredMemcachedEtcdConformance(StoreConformance):
    @pytest.fixture
    def store_factory(self, memcached_server: Endpoint, etcd_server: Endpoint) -> StoreFactory:
        return lambda namespace: tiered(
            MemcachedStore(memcached_server.url, namespace=namespace), EtcdStore(etcd_server.url, namespace=namespace)
        )
