"""Fixtures every area of the suite shares: ``store`` (to override) and ``store_factory`` (optional)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from sessionkv import SessionKVStore

from .runner import TestLoop, wrap_async_tests

#: Builds a NOT started store on the same backend/server as ``store``, in ``namespace``.
StoreFactory = Callable[[str], SessionKVStore]


class ConformanceBase:
    """The fixtures the suite's tests use; ``StoreConformance`` subclasses override them."""

    __sessionkv_conformance__ = True  # the plugin runs async fixtures of these tests on their loop

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # a backend author's own ``async def test_*`` methods run on the suite's loop too
        wrap_async_tests(cls, area=None, suite=False)

    @pytest.fixture
    def store_factory(self) -> StoreFactory | None:
        """Override: ``namespace -> store`` (NOT started) on the backend under test.

        The suite calls it with a fresh namespace per test (and a second one to check that
        namespaces are isolated), starts the store on the test's loop, checks it is empty,
        and cleans up and closes it afterwards.
        """
        return None

    @pytest.fixture
    def store(self, store_factory: StoreFactory | None, sessionkv_loop: TestLoop) -> Iterator[SessionKVStore]:
        """A started, empty store in a fresh namespace, built by ``store_factory`` (the suite owns it)."""
        if store_factory is None:
            pytest.fail(
                f"{type(self).__name__} must override the `store_factory` fixture: "
                "a function namespace -> store (not started)",
                pytrace=False,
            )
        store = store_factory(f"skvc-{uuid.uuid4().hex[:16]}:")
        sessionkv_loop.run(store.start())
        try:
            yield store
        finally:
            sessionkv_loop.run(store.close())
