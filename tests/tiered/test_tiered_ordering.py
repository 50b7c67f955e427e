"""A read that overlapped a write of its key never warms the hot tier with the older value.

The race, made deterministic: a reader misses the hot tier and reads ``v1`` from the durable tier; before
it warms, a write of ``v2`` goes through both tiers and a second reader sees ``v2``; then the hot tier loses
the key (evicted, flushed). Warming now with ``v1`` (``add`` finds the key absent) would let the next read go
back in time. The durable tier here is memory:// with its reads held at a gate after they have read.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest

from sessionkv import tiered
from sessionkv_memory.store import MemoryStore

pytestmark = pytest.mark.asyncio


class GatedMemoryStore(MemoryStore):
    """memory:// whose reads, while ``gate`` is set, wait for it after reading (``read`` says they have)."""

    def __init__(self, name: str) -> None:
        super().__init__(name=name)
        self.gate: asyncio.Event | None = None
        self.read = asyncio.Event()

    async def _get(self, key: str) -> bytes | None:
        value = await super()._get(key)
        await self._hold()
        return value

    async def _mget(self, keys: list[str]) -> list[bytes | None]:
        values = await super()._mget(keys)
        await self._hold()
        return values

    async def _hold(self) -> None:
        gate = self.gate
        if gate is not None:
            self.read.set()
            await gate.wait()


@pytest.mark.parametrize("call", ["get", "mget"])
async def test_a_read_overlapped_by_a_write_does_not_warm_the_older_value(call: str) -> None:
    tag = uuid.uuid4().hex[:8]
    hot, durable = MemoryStore(name=f"hot-{tag}"), GatedMemoryStore(f"durable-{tag}")
    async with tiered(hot, durable) as store:
        await store.set("k", b"v1", 60)
        await hot.delete(["k"])
        durable.gate = gate = asyncio.Event()
        slow = asyncio.create_task(store.get("k") if call == "get" else store.mget(["k"]))
        await durable.read.wait()  # it has read v1 from the durable tier and not warmed yet
        durable.gate = None
        await store.set("k", b"v2", 60)
        assert await store.get("k") == b"v2"  # a reader has seen v2 (from the hot tier)
        await hot.delete(["k"])  # the hot tier loses the key
        gate.set()
        assert await slow in (b"v1", [b"v1"])
        assert await hot.get("k") is None, "a read that overlapped a write warmed the hot tier with the older value"
        assert await store.get("k") == b"v2"


async def test_a_read_not_overlapped_still_warms() -> None:
    tag = uuid.uuid4().hex[:8]
    hot, durable = MemoryStore(name=f"hot-{tag}"), GatedMemoryStore(f"durable-{tag}")
    async with tiered(hot, durable) as store:
        await store.mset([("k", b"v1", 60), ("other", b"o1", 60)])
        await hot.delete(["k", "other"])
        durable.gate = gate = asyncio.Event()
        slow = asyncio.create_task(store.mget(["k", "other"]))
        await durable.read.wait()
        durable.gate = None
        await store.set("other", b"o2", 60)  # overlaps "other" only
        gate.set()
        assert await slow == [b"v1", b"o1"]
        assert await hot.mget(["k", "other"]) == [b"v1", b"o2"], "only the overlapped key is left unwarmed"
