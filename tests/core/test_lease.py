"""Lease and Documents corner cases the conformance area cannot stage: pauses inside an acquisition, cancellation."""

from __future__ import annotations

import asyncio

import pytest

from sessionkv import Documents, FencedOutError, Lease, UnsupportedOperationError, adapt
from sessionkv_memory import MemoryStore

pytestmark = pytest.mark.asyncio


async def test_an_owner_paused_while_taking_its_fence_does_not_win() -> None:
    """Paused between taking the lease and its fence past the ttl: it must not hold a fence above the next owner's."""
    store = MemoryStore()
    slow = store.lease("job", 0.05)
    take_fence = slow._next_fence

    async def paused() -> int | None:
        await asyncio.sleep(0.1)  # the lease lapses; another owner takes it meanwhile
        return await take_fence()

    slow._next_fence = paused  # type: ignore[method-assign]
    attempt = asyncio.ensure_future(slow.acquire())
    await asyncio.sleep(0.07)
    fast = store.lease("job", 10)
    assert await fast.acquire() and fast.fence == 1
    assert await attempt is False and not slow.held and slow.fence is None
    assert await store.get(fast.key) == fast.token


async def test_release_survives_the_caller_being_cancelled() -> None:
    store = MemoryStore()
    lease = store.lease("job", 10)
    assert await lease.acquire()

    async def release_then_cancelled() -> None:
        await lease.release()
        await asyncio.sleep(10)

    task = asyncio.ensure_future(release_then_cancelled())
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await store.get(lease.key) is None and not lease.held


async def test_a_ttl_below_the_minimum_is_rounded_up_never_zero() -> None:
    lease = Lease(MemoryStore(), "job", 1e-12)
    assert lease.ttl == MemoryStore.capabilities.min_ttl > 0
    with pytest.raises(ValueError, match="wait"):
        Lease(MemoryStore(), "job", 1, wait=-1)


async def test_documents_and_leases_refuse_a_store_without_versions() -> None:
    class Published:
        async def start(self) -> None: ...
        async def close(self) -> None: ...
        async def set(self, key: str, value: bytes, ttl: float, *, only_if_exists: bool = False) -> None: ...
        async def mset(self, items: list[tuple[str, bytes, float]]) -> None: ...
        async def get(self, key: str) -> bytes | None:
            return None

        async def mget(self, keys: list[str]) -> list[bytes | None]:
            return [None] * len(keys)

        async def expire(self, *keys: str, ttl: float) -> None: ...
        async def keys(self, prefix: str) -> list[str]:
            return []

        async def delete(self, keys: list[str]) -> None: ...

    store = adapt(Published())
    with pytest.raises(UnsupportedOperationError, match="cas"):
        await store.lease("job", 1).acquire()
    with pytest.raises(UnsupportedOperationError, match="get_versioned"):
        await Documents(store).load("d")


async def test_a_stale_fence_is_refused_even_from_a_fresh_documents_object() -> None:
    store = MemoryStore()
    first = Documents(store, "d/")
    version = await first.save("x", b"v1", None, 60, fence=9)
    second = Documents(store, "d/")  # never loaded: must read the stored fence itself
    with pytest.raises(FencedOutError):
        await second.save("x", b"stale", version, 60, fence=3)
    assert await first.load("x") == (b"v1", version)


async def test_a_lease_named_after_the_key_it_protects_does_not_collide_with_it() -> None:
    """The natural use (issue #24): lease a document under its own key; the lease lives apart from it."""
    store = MemoryStore()
    docs = Documents(store, "conversation/")
    await docs.update("c1", lambda turns: (turns or b"") + b"C,", ttl=60)
    async with store.lease("conversation/c1", ttl=10) as lease:
        assert lease.key != "conversation/c1"
        await docs.update("c1", lambda turns: (turns or b"") + b"D,", ttl=60, fence=lease.fence)
        assert await store.get(lease.key) == lease.token, "the document's write disturbed the lease"
    assert (await docs.load("c1"))[0] == b"C,D,"
    assert await store.get(lease.key) is None
