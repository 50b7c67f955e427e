"""Small helpers the suite's areas share: timings, snapshots and the "nothing written" check."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import pytest

from sessionkv import SessionKVStore

from .runner import clear_namespace, unchecked
from .targets import StoreFactory, build_store, fresh_namespace, namespace_of
from .timing import Clock, Timing

__all__ = [
    "Clock",
    "Timing",
    "expect_rejected",
    "other_namespace",
    "refreshed_in_time",
    "snapshot",
    "timing",
    "twin",
]

T = TypeVar("T")
STALL_ATTEMPTS = 3


def timing(store: SessionKVStore) -> Timing:
    """Short ttls and waits scaled to the store's declared ttl resolution and minimum ttl."""
    return Timing.of(store)


async def refreshed_in_time(store: SessionKVStore, t: Timing, keys: list[str], steps: Callable[[], Awaitable[T]]) -> T:
    """Run ``steps`` (writes with ttl ``t.window``, then their refresh) until they take less than the window.

    On a stalled machine the keys could expire before their refresh, which proves nothing about
    the store: the keys are deleted and the steps tried again. Returns what the steps returned.
    """
    for _attempt in range(STALL_ATTEMPTS):
        clock = Clock()
        result = await steps()
        if clock.elapsed() < t.window:
            return result
        await store.delete(keys)
    pytest.fail(
        f"the event loop stalled past the {t.window}s ttl window {STALL_ATTEMPTS} times; could not check", pytrace=False
    )


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
async def other_namespace(store_factory: StoreFactory, what: str) -> AsyncIterator[SessionKVStore | None]:
    """A started store in a fresh namespace on the same server, or ``None`` (recorded as a promise not checked)."""
    if not getattr(store_factory, "isolates_namespaces", True):
        unchecked(f"{what} (the store factory takes no namespace, so there is no second namespace on the same server)")
        yield None
        return
    other = build_store(store_factory, fresh_namespace("skvc-other"))
    async with other:
        try:
            yield other
        finally:
            await clear_namespace(other)


@contextlib.asynccontextmanager
async def twin(store_factory: StoreFactory, store: SessionKVStore) -> AsyncIterator[SessionKVStore]:
    """A second, started store object from the factory on the same server and namespace as ``store``.

    What one object writes, the other must see as the same data with the same versions (two
    processes of one service are two such objects); the test's own store cleans the namespace up.
    """
    async with build_store(store_factory, namespace_of(store)) as second:
        yield second
