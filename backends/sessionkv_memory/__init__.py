"""The in-process ``memory://`` backend: sessionkv's embedded default, no server needed."""

from .store import MemoryStore

__all__ = ["MemoryStore"]
