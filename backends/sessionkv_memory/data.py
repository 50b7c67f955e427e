"""The data behind ``memory://``: per namespace, key -> (value, deadline), plus a directory index.

Each namespace has its own dict (``Keyspaces``), so no key is ever prefixed on the hot path and no
namespace can see another's keys, nested ones included.

A directory is a key prefix ending in ``/``. Every key is filed under its own directory (the key up
to and including its last ``/``), and every directory under its parent, so ``keys(prefix)`` walks only
the directories that can hold a match: listing one call's sessions among 200,000 others touches that
call's entries, not the whole dict.
"""

from __future__ import annotations

from collections.abc import Iterator


def directory(key: str) -> str:
    """The directory of ``key``: everything up to and including its last ``/`` (``""`` if it has none)."""
    return key[: key.rfind("/") + 1]


class _Dir:
    """One directory: the keys filed directly in it and its immediate subdirectories."""

    __slots__ = ("keys", "subdirs")

    def __init__(self) -> None:
        self.keys: set[str] = set()
        self.subdirs: set[str] = set()


class Keyspaces:
    """Everything one ``memory://NAME`` holds: one ``MemoryData`` per namespace, created on first use."""

    def __init__(self) -> None:
        self.spaces: dict[str, MemoryData] = {}

    def space(self, namespace: str) -> MemoryData:
        """The keyspace of ``namespace`` (shared by every store opened on it)."""
        data = self.spaces.get(namespace)
        if data is None:
            data = self.spaces[namespace] = MemoryData()
        return data

    def sweep(self, now: float) -> int:
        """Remove every expired entry of every namespace; returns how many."""
        return sum(data.sweep(now) for data in list(self.spaces.values()))


class MemoryData:
    """One namespace's dict, shared by the ``MemoryStore`` objects opened on it: key -> (value, deadline)."""

    def __init__(self) -> None:
        self.items: dict[str, tuple[bytes, float]] = {}
        self._dirs: dict[str, _Dir] = {"": _Dir()}

    # -- writes keep the index in step ------------------------------------------------------------

    def put(self, full_key: str, value: bytes, deadline: float) -> None:
        """Store one entry (new keys are filed in their directory)."""
        if full_key not in self.items:
            self._file(full_key)
        self.items[full_key] = (value, deadline)

    def put_entry(self, full_key: str, entry: tuple[bytes, float]) -> None:
        """Store a ``(value, deadline)`` tuple as it is (its identity is the entry's version)."""
        if full_key not in self.items:
            self._file(full_key)
        self.items[full_key] = entry

    def put_items(self, items: list[tuple[str, bytes, float]], now: float) -> None:
        """Store ``mset`` items with deadlines from ``now``; a repeated key's last item wins.

        The hot path of ``mset``: one pass writing the dict; only when it grew (new keys) a second
        pass files them in the index (filing is idempotent, so existing keys are left as they are).
        """
        entries = self.items
        before = len(entries)
        for key, value, ttl in items:
            entries[key] = (value, now + ttl)
        if len(entries) != before:
            for key, _, _ in items:
                self._file(key)

    def remove(self, full_key: str) -> None:
        """Delete one entry if present, and unfile it."""
        if self.items.pop(full_key, None) is not None:
            self._unfile(full_key)

    def _file(self, full_key: str) -> None:
        """File ``full_key`` in its directory, creating the directory and its ancestors if needed (idempotent)."""
        name = directory(full_key)
        node = self._dirs.get(name)
        if node is None:
            node = self._dirs[name] = _Dir()
            child = name
            while child:  # link the new directory, and any new ancestors, to their parents
                parent_name = directory(child[:-1])
                parent = self._dirs.get(parent_name)
                created = parent is None
                if parent is None:
                    parent = self._dirs[parent_name] = _Dir()
                parent.subdirs.add(child)
                if not created:
                    break
                child = parent_name
        node.keys.add(full_key)

    def _unfile(self, full_key: str) -> None:
        name = directory(full_key)
        node = self._dirs[name]
        node.keys.discard(full_key)
        while name and not node.keys and not node.subdirs:  # drop empty directories up the tree
            del self._dirs[name]
            parent_name = directory(name[:-1])
            node = self._dirs[parent_name]
            node.subdirs.discard(name)
            name = parent_name

    # -- reads ---------------------------------------------------------------------------------

    def live(self, full_key: str, now: float) -> bytes | None:
        """The value of a live entry; an expired one is removed on the way."""
        entry = self.items.get(full_key)
        if entry is None:
            return None
        if entry[1] <= now:
            self.remove(full_key)
            return None
        return entry[0]

    def under(self, start: str, now: float) -> tuple[list[str], int]:
        """Live keys starting with ``start`` and how many keys were examined (only directories that can hold one)."""
        found: list[str] = []
        expired: list[str] = []
        examined = 0
        for full_key in self._candidates(start):
            examined += 1
            if full_key.startswith(start):
                (found if self.items[full_key][1] > now else expired).append(full_key)
        for full_key in expired:
            self.remove(full_key)
        return found, examined

    def _candidates(self, start: str) -> Iterator[str]:
        """Keys of the directory ``start`` lies in, and of every directory below it that starts with ``start``."""
        base = self._dirs.get(directory(start))
        if base is None:
            return
        yield from list(base.keys)
        pending = [name for name in base.subdirs if name.startswith(start)]
        while pending:
            node = self._dirs.get(pending.pop())
            if node is not None:
                yield from list(node.keys)
                pending.extend(node.subdirs)

    def sweep(self, now: float) -> int:
        """Remove every expired entry; returns how many."""
        expired = [k for k, (_, deadline) in self.items.items() if deadline <= now]
        for k in expired:
            self.remove(k)
        return len(expired)
