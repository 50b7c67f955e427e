"""etcd:// is certified: the whole conformance suite on a real one-member etcd, and the versioned-writes area."""

from __future__ import annotations

import pytest

from servers.ladder import Endpoint
from sessionkv_conformance import StoreConformance, StoreFactory
from sessionkv_etcd.store import EtcdStore


class TestEtcdConformance(StoreConformance):
    @pytest.fixture
    def store_factory(self, etcd_server: Endpoint) -> StoreFactory:
        return lambda namespace: EtcdStore(etcd_server.url, namespace=namespace)
