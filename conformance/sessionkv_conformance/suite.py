"""``StoreConformance``: every conformance test in one class, assembled from the report areas."""

from __future__ import annotations

from .area_batch import BatchTests
from .area_concurrency import ConcurrencyTests
from .area_conditional import ConditionalWriteTests
from .area_edges import BadInputTests, KeyValueTests, LimitTests
from .area_expire import ExpireTouchTests
from .area_listing import DeleteTests, ListingTests
from .area_model import ModelTests
from .area_raw import RawStoreTests
from .area_ttl import TTLTests
from .area_versioned import VersionedTests
from .base import ConformanceBase


class StoreConformance(
    ConformanceBase,
    TTLTests,
    ExpireTouchTests,
    ConditionalWriteTests,
    BatchTests,
    ListingTests,
    DeleteTests,
    KeyValueTests,
    BadInputTests,
    LimitTests,
    ConcurrencyTests,
    VersionedTests,
    ModelTests,
    RawStoreTests,
):
    """Every conformance test; subclass it and override the ``store_factory`` fixture (see the package docstring)."""
