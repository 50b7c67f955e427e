"""tiered(hot, durable) is certified: the whole conformance suite on tiered(memory, memory) (fast, no server),
tiered(redis, postgresql) and tiered(memcached, etcd) on real servers, versioned writes and leases included,
and with a third-party store (tests/conformance/strangers.py: published methods only, no versions) as either tier.
"""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

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

sys.path.insert(0, str(Path(__file__).parents[1] / "conformance"))  # the strangers of the conformance tests
import strangers


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


class TestTieredStrangerHotConformance(StoreConformance):
    """A stranger as the hot tier: it has no ``add``, so reads warm it with ``set``; versions are memory://'s."""

    @pytest.fixture
    def store_factory(self) -> StoreFactory:
        tag, data = uuid.uuid4().hex[:8], strangers.DictSessionKVStore.new_data()
        return lambda namespace: tiered(
            strangers.DictSessionKVStore(key_prefix=namespace, data=data),
            MemoryStore(name=f"durable-{tag}", namespace=namespace),
        )


class TestTieredStrangerDurableConformance(StoreConformance):
    """A stranger as the tier of record (an indexed listing, no versions): the tiered store declares what it has."""

    @pytest.fixture
    def store_factory(self) -> StoreFactory:
        tag, data = uuid.uuid4().hex[:8], strangers.IndexedStore.new_data()
        return lambda namespace: tiered(
            MemoryStore(name=f"hot-{tag}", namespace=namespace),
            strangers.IndexedStore(key_prefix=namespace, data=data),
        )
