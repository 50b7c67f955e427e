"""postgresql:// is certified: the whole conformance suite on a real PostgreSQL 15, versioned writes included."""

from __future__ import annotations

import pytest

from servers.ladder import Endpoint
from sessionkv_conformance import StoreConformance, StoreFactory
from sessionkv_postgres.store import PostgresStore


class TestPostgresConformance(StoreConformance):
    @pytest.fixture
    def store_factory(self, postgres_server: Endpoint) -> StoreFactory:
        return lambda namespace: PostgresStore(postgres_server.url, namespace=namespace)
