"""The fixtures every area of the suite shares; an author overrides only ``store_factory``.

The suite owns the rest: ``sessionkv_loop`` (one event loop per test) and ``store`` (built by the
factory in a fresh namespace, wrapped with ``sessionkv.adapt`` if it is not a ``SessionKVStore``,
started on the test's loop, checked empty, cleaned up and closed afterwards).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from sessionkv import SessionKVStore

from .runner import BACKEND_PROPERTY, STORE_NOTE_PROPERTY, TestLoop, clear_namespace, test_loop, wrap_async_tests
from .targets import StoreFactory, build_store, describe_store, fresh_namespace, store_notes
from .timing import measure_round_trip


class ConformanceBase:
    """The fixtures the suite's tests use; ``StoreConformance`` subclasses override ``store_factory``."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # a backend author's own ``async def test_*`` methods run on the suite's loop too
        wrap_async_tests(cls, area=None)

    @pytest.fixture
    def sessionkv_loop(self, request: pytest.FixtureRequest) -> Iterator[TestLoop]:
        """The event loop a conformance test and its ``store`` share; closed after both."""
        with test_loop(request.node) as loop:
            yield loop

    @pytest.fixture
    def store_factory(self) -> StoreFactory:
        """Override: a function ``namespace -> store`` returning a NOT started store of the backend under test.

        The store may be a ``sessionkv.SessionKVStore`` or any object with the published methods
        (``start close set mset get mget expire keys delete``; ``touch`` and ``capabilities``
        optional). Every call with a different namespace must give a store that sees only its
        own keys, on the same server (the namespace checks use a second one).
        """
        pytest.fail(
            f"{type(self).__name__} must override the `store_factory` fixture: "
            "a function namespace -> store (not started)",
            pytrace=False,
        )

    @pytest.fixture
    def store(self, store_factory: StoreFactory, sessionkv_loop: TestLoop) -> Iterator[SessionKVStore]:
        """A started, empty store in a fresh namespace, built by ``store_factory`` (owned by the suite)."""
        try:
            store = build_store(store_factory, fresh_namespace())
        except (TypeError, ValueError) as exc:
            pytest.fail(str(exc), pytrace=False)
        sessionkv_loop.record(BACKEND_PROPERTY, describe_store(store))
        for note in store_notes(store):
            sessionkv_loop.record(STORE_NOTE_PROPERTY, note)
        sessionkv_loop.run(store.start(), "the store's start()")
        try:
            leftover = sessionkv_loop.run(store.keys(""), "keys('') on the new store")
            sessionkv_loop.run(measure_round_trip(store), "get() on the new store")
            if leftover:
                pytest.fail(
                    f"the store built by `store_factory` must start empty (its own namespace); it already holds "
                    f"{len(leftover)} key(s), e.g. {sorted(leftover)[:3]!r}",
                    pytrace=False,
                )
            try:
                yield store
            finally:
                sessionkv_loop.run(clear_namespace(store), "the cleanup (keys, delete)")
        finally:
            sessionkv_loop.run(store.close(), "the store's close()")
