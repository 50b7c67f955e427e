"""The in-process ``memory://`` backend: sessionkv's embedded default, no server needed.

Footprint rule: expired entries are swept every ``cleanup_interval`` seconds and a directory goes with
its last entry, so the process holds the live keys only.

Light on purpose: importing the package (as the plugin loader does) imports no store module;
``MemoryStore`` and ``InMemorySessionKVStore`` load on first access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sessionkv import lazy_exports

if TYPE_CHECKING:
    from .published import InMemorySessionKVStore
    from .store import MemoryStore

__getattr__ = lazy_exports(__name__, {"MemoryStore": ".store", "InMemorySessionKVStore": ".published"})


__all__ = ["InMemorySessionKVStore", "MemoryStore"]
