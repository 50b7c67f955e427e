"""Count a store's calls by wrapping its public methods on the instance: round trips counted, not guessed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sessionkv import SessionKVStore

METHODS = ("set", "mset", "get", "mget", "expire", "touch", "keys", "delete")


@contextmanager
def counting(store: SessionKVStore) -> Iterator[Counter[str]]:
    """Count calls per method of ``store`` while the block runs (instance attributes shadow the methods)."""
    calls: Counter[str] = Counter()

    def wrap(name: str, method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def counted(*args: Any, **kwargs: Any) -> Any:
            calls[name] += 1
            return await method(*args, **kwargs)

        return counted

    for name in METHODS:
        setattr(store, name, wrap(name, getattr(store, name)))
    try:
        yield calls
    finally:
        for name in METHODS:
            delattr(store, name)
