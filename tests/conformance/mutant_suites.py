"""StoreConformance subclasses over each mutant (run by test_mutants.py in a subprocess, not collected)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from mutants import MUTANTS

from sessionkv import SessionKVStore
from sessionkv_conformance import StoreConformance, StoreFactory
from sessionkv_memory import MemoryStore


class MemorySuite(StoreConformance):
    """The suite over ``backend`` opened as a named (shareable) memory store."""

    backend: type[MemoryStore] = MemoryStore

    @pytest.fixture
    def memory_name(self) -> str:
        return f"conformance-{uuid.uuid4().hex}"

    @pytest.fixture
    async def store(self, memory_name: str) -> AsyncIterator[SessionKVStore]:
        async with self.backend(name=memory_name, namespace="main:") as store:
            yield store

    @pytest.fixture
    def store_factory(self, memory_name: str) -> StoreFactory:
        return lambda namespace: self.backend(name=memory_name, namespace=namespace)


class TestUnbroken(MemorySuite):
    backend = MemoryStore


for _mutant in MUTANTS:
    globals()[f"Test{_mutant.__name__}"] = type(f"Test{_mutant.__name__}", (MemorySuite,), {"backend": _mutant})
