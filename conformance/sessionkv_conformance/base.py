"""Fixtures every area of the suite shares: ``store`` (to override) and ``store_factory`` (optional)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from sessionkv import SessionKVStore

from .runner import wrap_async_tests

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
    async def store(self) -> AsyncIterator[SessionKVStore]:
        """Override: yield a started, empty store in its own namespace (``async with`` it)."""
        pytest.fail(
            f"{type(self).__name__} must override the `store` fixture: an async generator fixture "
            "yielding a started, empty store",
            pytrace=False,
        )
        yield

    @pytest.fixture
    def store_factory(self) -> StoreFactory | None:
        """Override (optional): ``namespace -> store`` (not started) on the same server as ``store``.

        Used to check that namespaces are isolated; without it that check is reported adapted.
        """
        return None
