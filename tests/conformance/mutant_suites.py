"""StoreConformance subclasses over each mutant (run by test_mutants.py in a subprocess, not collected)."""

from __future__ import annotations

import uuid

import pytest
from mutants import MUTANTS

from sessionkv_conformance import StoreConformance, StoreFactory
from sessionkv_memory import MemoryStore


class MemorySuite(StoreConformance):
    """The suite over ``backend`` opened as a named (shareable) memory store."""

    backend: type[MemoryStore] = MemoryStore

    @pytest.fixture
    def store_factory(self) -> StoreFactory:
        shared = f"conformance-{uuid.uuid4().hex}"
        return lambda namespace: self.backend(name=shared, namespace=namespace)


class TestUnbroken(MemorySuite):
    backend = MemoryStore


for _mutant in MUTANTS:
    globals()[f"Test{_mutant.__name__}"] = type(f"Test{_mutant.__name__}", (MemorySuite,), {"backend": _mutant})
