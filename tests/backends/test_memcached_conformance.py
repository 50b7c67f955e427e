"""memcached:// is certified: the whole conformance suite on a real memcached."""

from __future__ import annotations

import pytest

from servers.ladder import Endpoint
from sessionkv_conformance import StoreConformance, StoreFactory
from sessionkv_memcached.store import MemcachedStore


class TestMemcachedConformance(StoreConformance):
    @pytest.fixture
    def store_factory(self, memcached_server: Endpoint) -> StoreFactory:
        return lambda namespace: MemcachedStore(memcached_server.url, namespace=namespace)
