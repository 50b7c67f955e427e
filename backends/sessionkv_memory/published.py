"""``InMemorySessionKVStore``: the memory store under the published API's name and constructor."""

from __future__ import annotations

from .store import MemoryStore


class InMemorySessionKVStore(MemoryStore):
    """A private in-process store sweeping expired keys every ``cleanup_interval`` seconds (published default 60)."""

    def __init__(self, *, cleanup_interval: float = 60.0) -> None:
        if (
            isinstance(cleanup_interval, bool)
            or not isinstance(cleanup_interval, (int, float))
            or cleanup_interval <= 0
        ):
            raise ValueError(f"cleanup_interval must be > 0 seconds, got {cleanup_interval!r}")
        super().__init__(cleanup_interval=float(cleanup_interval))
