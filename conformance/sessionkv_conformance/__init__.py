"""sessionkv_conformance: the conformance suite that certifies a sessionkv store backend.

Certify a store with one test file (pytest and this package are all it needs; it brings its own
event loop and works with or without pytest-asyncio (strict or auto) or anyio)::

    import pytest
    from sessionkv_conformance import StoreConformance

    class TestMyStore(StoreConformance):
        @pytest.fixture
        def store_factory(self):            # namespace -> NOT started store, all on one server
            return lambda namespace: MyStore(namespace=namespace)

Or with no code, by URL or by a ``module:callable`` returning a not-started store::

    sessionkv check SCHEME://...            # grouped certification report, exit 0 only if certified
    sessionkv check --factory mypkg.stores:make_store
    pytest --pyargs sessionkv_conformance --sessionkv-url=SCHEME://...
    pytest --pyargs sessionkv_conformance --sessionkv-factory=mypkg.stores:make_store

Public surface:

- ``StoreConformance``: base class holding every test (one named test per behaviour, grouped in
  report areas by the ``sessionkv_area`` marker). Override only the sync fixture
  ``store_factory``. The suite owns the rest: for every test it calls the factory with a fresh
  namespace, wraps a store that is not a ``sessionkv.SessionKVStore`` with ``sessionkv.adapt``,
  starts it on the test's own event loop (fixture ``sessionkv_loop``), checks it is empty, and
  afterwards deletes what the test wrote and closes it. A second namespace from the same factory
  checks namespace isolation. Your own ``async def test_*`` methods on the subclass run on the
  same loop and may use the ``store`` fixture; other async fixtures belong to your async plugin.
- Any object with the published methods is certified: ``start close set mset get mget expire
  keys delete``. ``touch`` is optional (without it: "not implemented (optional)", and its
  behaviour is checked through sessionkv's default). ``capabilities`` is optional: a
  ``sessionkv.StoreCapabilities`` or a plain mapping of its fields (``{"ttl_resolution": 1.0,
  "min_ttl": 1.0, "max_value_size": 1048576}``), so a store need not import sessionkv; without
  it the stated defaults of ``StoreCapabilities`` apply and the report says so.
- Declared capabilities are verified, not trusted: TTL waits scale with ``min_ttl`` and
  ``ttl_resolution``, and a key outliving ttl + ttl_resolution fails. A store declaring
  ``directory_listing="indexed"`` must list a small directory among 300 other keys examining at
  most 2 entries per key + 20, as counted by its own ``keys_examined`` (an int attribute, also on
  a stranger); never timed. Where a test adapts to a declaration (e.g. no ``max_value_size``, or
  ``directory_listing="scan"``) it records why with ``adapted(reason)``; that shows in the report
  and the pytest summary, never as a silent skip.
- ``adapted(reason)``: call it from your own test to record an adaptation the same way.
- ``StoreFactory``: the type of the factory, ``Callable[[str], Any]``. A factory that cannot
  place stores in a namespace sets ``isolates_namespaces = False`` on itself.
- Asserts are rewritten by pytest (the plugin registers the suite's modules), so a failure shows
  the compared values, with a traceback starting at the test.
- Runtime: about 5 s against memory://, about 35 s against a backend with 1 s ttl resolution.
- The pytest plugin (entry point ``pytest11``) only adds the ``--sessionkv-url`` and
  ``--sessionkv-factory`` options, the ``sessionkv_area`` marker and the adaptations summary; it
  runs no test by itself. Importing this package is cheap: the suite loads on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .runner import AREAS, adapted
    from .suite import StoreConformance
    from .targets import StoreFactory

#: public name -> module defining it (imported on first use, after pytest can rewrite its asserts)
_LAZY = {
    "AREAS": "runner",
    "adapted": "runner",
    "StoreFactory": "targets",
    "StoreConformance": "suite",
}


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib
    import sys

    if f"{__name__}.suite" not in sys.modules:
        from .rewrite import mark_suite_for_rewrite

        mark_suite_for_rewrite()  # in case the plugin is not loaded (-p no:..., autoload disabled)
    return getattr(importlib.import_module(f".{module_name}", __name__), name)


__all__ = ["AREAS", "StoreConformance", "StoreFactory", "adapted"]
