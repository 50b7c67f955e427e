"""The operation matrix (get, set, and mget/mset/expire at 100 and 1,000 keys) over any key-value client.

Each side of a comparison is a ``KV``: our store, a bare client doing the same commands, or a peer
library. ``PublishedKV`` adapts anything with the published method names (our stores included).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from .ratio import Call

VALUE = b"x" * 100
TTL = 60.0
BATCHES = (100, 1000)


class KV(Protocol):
    """One side of a comparison: the five operations, keys without any namespace (the side adds its own)."""

    #: operation names this side can do (peers lack some: their row is a marked gap)
    supports: frozenset[str]

    async def get(self, key: str) -> object: ...
    async def set(self, key: str, value: bytes, ttl: float) -> object: ...
    async def mget(self, keys: list[str]) -> object: ...
    async def mset(self, items: list[tuple[str, bytes, float]]) -> object: ...
    async def expire(self, keys: list[str], ttl: float) -> object: ...


ALL = frozenset({"get", "set", "mget", "mset", "expire"})


class PublishedKV:
    """A ``KV`` over a store with the published methods (``SessionKVStore``, the published stores)."""

    supports = ALL

    def __init__(self, store: Any) -> None:
        self.store = store

    async def get(self, key: str) -> object:
        return await self.store.get(key)

    async def set(self, key: str, value: bytes, ttl: float) -> object:
        return await self.store.set(key, value, ttl)

    async def mget(self, keys: list[str]) -> object:
        return await self.store.mget(keys)

    async def mset(self, items: list[tuple[str, bytes, float]]) -> object:
        return await self.store.mset(items)

    async def expire(self, keys: list[str], ttl: float) -> object:
        return await self.store.expire(*keys, ttl=ttl)


@dataclass(frozen=True)
class Operation:
    """One row of the matrix: an operation name and how many keys it carries."""

    name: str
    size: int = 1

    @property
    def label(self) -> str:
        return self.name if self.size == 1 else f"{self.name}({self.size:,})"

    def keys(self) -> list[str]:
        return [f"bench/k{i}" for i in range(self.size)]

    def call(self, kv: KV) -> Call:
        """A zero-argument coroutine function doing this operation on ``kv`` (keys prepared in advance)."""
        keys = self.keys()
        items = [(key, VALUE, TTL) for key in keys]
        if self.name == "get":
            return lambda: kv.get(keys[0])
        if self.name == "set":
            return lambda: kv.set(keys[0], VALUE, TTL)
        if self.name == "mget":
            return lambda: kv.mget(keys)
        if self.name == "mset":
            return lambda: kv.mset(items)
        if self.name == "expire":
            return lambda: kv.expire(keys, TTL)
        raise ValueError(f"unknown operation {self.name!r}")

    async def prepare(self, kv: KV) -> None:
        """Write the keys this operation reads or refreshes (so reads hit and expires find their keys)."""
        items = [(key, VALUE, TTL) for key in self.keys()]
        if "mset" in kv.supports:
            for start in range(0, len(items), 1000):
                await kv.mset(items[start : start + 1000])
        else:
            for key, value, ttl in items:
                await kv.set(key, value, ttl)


def matrix(quick: bool) -> list[Operation]:
    """get, set, then mget/mset/expire at each batch size (only the smallest in the quick mode)."""
    sizes = BATCHES[:1] if quick else BATCHES
    return [
        Operation("get"),
        Operation("set"),
        *(Operation(name, size) for name in ("mget", "mset", "expire") for size in sizes),
    ]
