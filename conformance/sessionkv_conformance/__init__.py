"""sessionkv_conformance: the conformance suite that certifies a sessionkv store backend.

Certify a backend class with one test file (pytest and this package are all it needs; it brings
its own async support and works with or without pytest-asyncio (strict or auto) or anyio)::

    import uuid

    import pytest
    from sessionkv_conformance import StoreConformance

    class TestMyStore(StoreConformance):
        @pytest.fixture
        async def store(self):              # required: a started, EMPTY store, own namespace
            async with MyStore(namespace=f"test-{uuid.uuid4().hex}:") as s:
                yield s

        @pytest.fixture
        def store_factory(self):            # optional: namespace -> NOT started store, same server
            return lambda namespace: MyStore(namespace=namespace)

Or certify an installed backend by URL, with no code::

    pytest --pyargs sessionkv_conformance --sessionkv-url=SCHEME://...
    sessionkv check SCHEME://...            # grouped certification report, exit 0 only if certified

Public surface:

- ``StoreConformance``: base class holding every test (one named test per behaviour, grouped in
  report areas by the ``sessionkv_area`` marker). Override the ``store`` fixture (an async
  generator fixture, function-scoped; it and the tests run on one event loop per test). Optional
  ``store_factory`` fixture: ``(namespace: str) -> SessionKVStore`` (not started) on the same
  server, used to check namespace isolation; without it those checks are reported "adapted".
  Your own ``async def test_*`` methods on the subclass also run on the test's loop.
- Capabilities are read from ``store.capabilities`` (``sessionkv.StoreCapabilities``: ttl_resolution,
  min_ttl, max_ttl, max_value_size, max_key_size) and verified: TTL waits scale with min_ttl and
  ttl_resolution, and a key outliving ttl + ttl_resolution fails. Where a test adapts to a
  declaration (e.g. no max_value_size) it records why with ``adapted(reason)``; that shows in the
  report and the pytest summary, never as a silent skip.
- ``adapted(reason)``: call it from your own test to record an adaptation the same way.
- Event loop: each test gets a fresh loop (fixture ``sessionkv_loop``); every *function-scoped*
  async fixture a conformance test uses runs on it, whatever async plugin is installed. Start
  servers in sync (e.g. session-scoped) fixtures; higher-scoped async fixtures are left to your
  async plugin and would live on another loop. A module-wide ``pytest.mark.asyncio`` is harmless.
- Each test checks the store starts empty and deletes what it wrote; the by-URL route also gives
  each test its own uuid namespace, so runs can share a server.
- Runtime: about 5 s against memory://, about 35 s against a backend with 1 s ttl resolution.
- The pytest plugin (entry point ``pytest11``) only adds ``--sessionkv-url``, the
  ``sessionkv_area`` marker and the ``sessionkv_loop``/``sessionkv_url`` fixtures; it runs no
  test by itself.
"""

from __future__ import annotations

from . import _rewrite  # noqa: F401  (must run before the suite's modules are imported)
from .area_batch import BatchTests
from .area_concurrency import ConcurrencyTests
from .area_conditional import ConditionalWriteTests
from .area_edges import BadInputTests, KeyValueTests, LimitTests
from .area_expire import ExpireTouchTests
from .area_listing import DeleteTests, ListingTests
from .area_model import ModelTests
from .area_ttl import TTLTests
from .base import ConformanceBase, StoreFactory
from .runner import adapted


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
    ModelTests,
):
    """Every conformance test; subclass it and override the ``store`` fixture (see the module docstring)."""


#: report areas in display order
AREAS = [
    "TTL",
    "expire & touch",
    "conditional writes",
    "batch ops",
    "listing",
    "delete",
    "keys & values",
    "bad input",
    "limits",
    "concurrency",
    "model",
]

__all__ = ["AREAS", "StoreConformance", "StoreFactory", "adapted"]
