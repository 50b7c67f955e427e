"""The in-process ``memory://`` backend: sessionkv's embedded default, no server needed.

Light on purpose: importing the package (as the plugin loader does) imports no store module;
``MemoryStore`` and ``InMemorySessionKVStore`` load on first access.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .published import InMemorySessionKVStore
    from .store import MemoryStore

_LAZY = {"MemoryStore": ".store", "InMemorySessionKVStore": ".published"}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_LAZY[name], __name__), name)


__all__ = ["InMemorySessionKVStore", "MemoryStore"]
