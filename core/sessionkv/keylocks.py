"""``KeyLocks``: per-key mutual exclusion inside one process, for stores that write a key in two steps.

A tiered store writes the durable tier, then the hot tier. Two writes of one key from the same
process could otherwise finish their durable steps in one order and their hot steps in the other,
leaving the hot tier with the older value. Holding the key's lock across both steps keeps the hot
copies in the order the durable tier applied them. Locks exist only while held or awaited, so
memory follows the writes in flight, not the keys ever written; keys are locked in sorted order,
so batches cannot deadlock each other.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager


class KeyLocks:
    """A lock per key, created on demand and dropped when its last holder or waiter leaves."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, list[int]]] = {}

    def __len__(self) -> int:
        """Keys currently locked or awaited."""
        return len(self._locks)

    def held(self, key: str) -> bool:
        """Whether ``key`` is locked or awaited (a write of it is in progress)."""
        return key in self._locks

    @asynccontextmanager
    async def hold(self, keys: Sequence[str]) -> AsyncIterator[None]:
        """Hold the locks of ``keys`` (distinct) for the body, taken in sorted order."""
        ordered = sorted(keys) if len(keys) > 1 else keys
        counted: list[str] = []  # keys whose user count this call raised
        acquired: list[asyncio.Lock] = []
        try:
            for key in ordered:
                entry = self._locks.get(key)
                if entry is None:
                    entry = self._locks[key] = (asyncio.Lock(), [0])
                entry[1][0] += 1
                counted.append(key)
                await entry[0].acquire()
                acquired.append(entry[0])
            yield
        finally:
            for lock in acquired:
                lock.release()
            for key in counted:
                users = self._locks[key][1]
                users[0] -= 1
                if users[0] == 0:
                    del self._locks[key]
