"""memory:// is certified: the whole conformance suite over MemoryStore, in this repo's strict asyncio mode."""

from __future__ import annotations

import uuid

import pytest

from sessionkv_conformance import StoreConformance, StoreFactory
from sessionkv_memory import MemoryStore


class TestMemoryStoreConformance(StoreConformance):
    @pytest.fixture
    def store_factory(self) -> StoreFactory:
        shared = f"memory-conformance-{uuid.uuid4().hex}"  # one named store per test, shared by its namespaces
        return lambda namespace: MemoryStore(name=shared, namespace=namespace)
