"""StoreConformance over each tiered mutant and over the correct tiered store on the same tiers (run by
test_tiered_declarations.py in a subprocess, not collected: the file name does not start with ``test_``)."""

from __future__ import annotations

import uuid

import pytest
from tiered_mutants import MUTANTS

from sessionkv.tiered import TieredStore
from sessionkv_conformance import StoreConformance, StoreFactory
from sessionkv_memory import MemoryStore


class TieredSuite(StoreConformance):
    """The suite over ``tiered_class(hot_class(...), durable_class(...))``, both tiers private to the test."""

    tiered_class: type[TieredStore] = TieredStore
    hot_class: type[MemoryStore] = MemoryStore
    durable_class: type[MemoryStore] = MemoryStore

    @pytest.fixture
    def store_factory(self) -> StoreFactory:
        tag = uuid.uuid4().hex[:8]
        return lambda namespace: self.tiered_class(
            self.hot_class(name=f"hot-{tag}", namespace=namespace),
            self.durable_class(name=f"durable-{tag}", namespace=namespace),
        )


for _mutant, (_hot, _durable, _tests) in MUTANTS.items():
    _tiers = {"hot_class": _hot, "durable_class": _durable}
    globals()[f"Test{_mutant.__name__}"] = type(
        f"Test{_mutant.__name__}", (TieredSuite,), {"tiered_class": _mutant, **_tiers}
    )
    globals()[f"TestCorrectLike{_mutant.__name__}"] = type(f"TestCorrectLike{_mutant.__name__}", (TieredSuite,), _tiers)
