"""Small helpers the suite's areas share: timings, snapshots and the "nothing written" check."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from sessionkv import SessionKVStore

from .base import StoreFactory
from .runner import adapted, clear_namespace
from .timing import Clock, Timing

__all__ = ["Clock", "Timing", "expect_rejected", "other_namespace", "snapshot", "timing"]


def timing(store: SessionKVStore) -> Timing:
    return Timing.of(store)


async def snapshot(store: SessionKVStore) -> dict[str, bytes | None]:
    """Every key of the namespace with its value, to compare before and after a rejected call."""
    keys = sorted(await store.keys(""))
    return dict(zip(keys, await store.mget(keys), strict=True))


async def expect_rejected(
    store: SessionKVStore,
    errors: type[BaseException] | tuple[type[BaseException], ...],
    what: str,
    method: Callable[..., Awaitable[Any]],
    *args: Any,
    **kwargs: Any,
) -> None:
    """``method(*args, **kwargs)`` must raise one of ``errors`` and leave the namespace exactly as it was."""
    before = await snapshot(store)
    with pytest.raises(errors):
        await method(*args, **kwargs)
    after = await snapshot(store)
    assert after == before, f"{what}: rejected call changed stored data: {before!r} -> {after!r}"


@contextlib.asynccontextmanager
async def other_namespace(store_factory: StoreFactory | None, what: str) -> AsyncIterator[SessionKVStore | None]:
    """A started store in a fresh namespace on the same server, or ``None`` (recorded as adapted)."""
    if store_factory is None:
        adapted(f"no `store_factory` fixture (a second namespace on the same server): could not check {what}")
        yield None
        return
    other = store_factory(f"skvc-other-{uuid.uuid4().hex[:12]}:")
    async with other:
        try:
            yield other
        finally:
            await clear_namespace(other)
