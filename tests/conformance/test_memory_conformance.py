"""memory:// is certified: the whole conformance suite over MemoryStore, in this repo's strict asyncio mode."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from sessionkv import SessionKVStore
from sessionkv_conformance import StoreConformance, StoreFactory
from sessionkv_memory import MemoryStore


class TestMemoryStoreConformance(StoreConformance):
    @pytest.fixture
    def memory_name(self) -> str:
        return f"memory-conformance-{uuid.uuid4().hex}"

    @pytest.fixture
    async def store(self, memory_name: str) -> AsyncIterator[SessionKVStore]:
        async with MemoryStore(name=memory_name, namespace="certify:") as store:
            yield store

    @pytest.fixture
    def store_factory(self, memory_name: str) -> StoreFactory:
        return lambda namespace: MemoryStore(name=memory_name, namespace=namespace)
