"""StoreConformance subclasses over the published-interface strangers (run by test_strangers.py, not collected)."""

from __future__ import annotations

import pytest
import strangers

from sessionkv import adapt
from sessionkv_conformance import StoreConformance, StoreFactory


class StrangerSuite(StoreConformance):
    """The suite over ``stranger``, each test on its own dict shared by the test's namespaces."""

    stranger: type[strangers.DictSessionKVStore] = strangers.DictSessionKVStore

    @pytest.fixture
    def store_factory(self) -> StoreFactory:
        data = self.stranger.new_data()
        return lambda namespace: self.stranger(key_prefix=namespace, data=data)


class TestPublishedStore(StrangerSuite):
    """Correct, declares nothing, no touch."""


class TestDeclaringStore(StrangerSuite):
    stranger = strangers.DeclaringStore


class TestIndexedStore(StrangerSuite):
    """Declares directory_listing="indexed" as a mapping and counts keys_examined: its listing cost is certified."""

    stranger = strangers.IndexedStore


class TestUncountedIndexedStore(StrangerSuite):
    """Declares an index but counts nothing: the listing-cost check adapts, with the reason."""

    stranger = strangers.UncountedIndexedStore


class TestAdaptedByHand(StrangerSuite):
    """``sessionkv.adapt(store)`` is a full SessionKVStore: it passes the whole suite as one."""

    @pytest.fixture
    def store_factory(self) -> StoreFactory:
        data: dict[str, tuple[bytes, float]] = {}
        return lambda namespace: adapt(strangers.DictSessionKVStore(key_prefix=namespace, data=data))


for _broken in strangers.BROKEN:
    globals()[f"Test{_broken.__name__}"] = type(f"Test{_broken.__name__}", (StrangerSuite,), {"stranger": _broken})
