"""Versions of ``memory://`` entries: the entry tuple itself, compared by identity.

Every write stores a new ``(value, deadline)`` tuple, so "the same tuple is still stored" means
"nobody wrote the key since". A version holds a reference to its tuple, so the tuple (and its id)
cannot be reused while anyone may still compare against it: no counter, no clock, no ABA.
"""

from __future__ import annotations


class EntryVersion:
    """An opaque version token of a ``memory://`` entry."""

    __slots__ = ("entry",)

    def __init__(self, entry: tuple[bytes, float]) -> None:
        self.entry = entry

    def __eq__(self, other: object) -> bool:
        return isinstance(other, EntryVersion) and other.entry is self.entry

    def __hash__(self) -> int:
        return id(self.entry)

    def __repr__(self) -> str:
        return f"<memory version {id(self.entry):x}>"
