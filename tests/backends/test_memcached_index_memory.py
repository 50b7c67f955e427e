"""The memcached index's local bookkeeping is bounded, and forgetting it never shortens a live directory.

A store remembers the exptime it last gave each index item, to re-time an item only when a key outlives it.
That memory is capped (``index.MAX_TRACKED`` shards). Once a million-key churn overflowed it, the store
forgot what it had given the shared directories (the root, ``hot/``) and re-timed them to the churn's
2 s ttl: the long-lived keys under them vanished from ``keys()`` (found by ``python -m bench --only soak``).
Here the cap is lowered so a few hundred keys overflow it.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest

from servers.ladder import Endpoint
from sessionkv_memcached import index
from sessionkv_memcached.store import MemcachedStore


@pytest.mark.asyncio
async def test_overflowing_the_tracked_shards_never_hides_a_live_key(
    memcached_server: Endpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(index, "MAX_TRACKED", 40)
    async with MemcachedStore(memcached_server.url, namespace=f"track-{uuid.uuid4().hex[:8]}:") as store:
        await store.mset([("hot/live", b"v", 3600), ("live", b"v", 3600)])
        for start in range(0, 300, 50):  # each key its own directory: far more shards than tracked
            await store.mset([(f"conv/{n}/state", b"x", 1) for n in range(start, start + 50)])
            await store.mset([(f"hot/{n}", b"x", 1) for n in range(start, start + 50)])
        assert len(store._index._deadlines) <= 40  # the bookkeeping stays bounded
        await asyncio.sleep(3.5)  # the churn's ttl (1 s, whole seconds + 1) and a re-timed item's slack
        assert await store.keys("hot/") == ["hot/live"]
        assert sorted(await store.keys("")) == ["hot/live", "live"]
        await store.delete(["hot/live", "live"])
