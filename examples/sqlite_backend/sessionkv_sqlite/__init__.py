"""sessionkv-sqlite: an example third-party sessionkv backend storing keys in a SQLite file."""

from .store import SQLiteStore

__all__ = ["SQLiteStore"]
