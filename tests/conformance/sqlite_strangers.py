"""A correct SQLite store written against the published interface only, and one-bug variants of it (issue #23).

This module imports nothing of sessionkv (``test_stranger_variants.py`` checks that). ``SQLiteStranger``
keeps every namespace in one table of one database (the "server", a file shared by all the objects
of a process), owns a connection between its first ``start()`` and the ``close()`` of its last owner,
stamps every write with a version from a sequence stored in the database, and declares
``atomic_mset`` (a batch is one transaction, and no call yields to the event loop mid-batch).

Every other class breaks one promise; ``VARIANTS`` maps each to the conformance tests that must
fail for it (and only those, among the tests a run selects). The ``make_*`` functions are
``sessionkv check --factory`` targets: ``sqlite_strangers:make_<variant>``.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import tempfile
import time
from collections.abc import Callable
from typing import Any, NamedTuple

#: the shared "server": one database file per process
DATABASE = os.path.join(tempfile.mkdtemp(prefix="sqlite-stranger-"), "server.db")
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS kv (ns TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, deadline REAL NOT NULL, "
    "version INTEGER NOT NULL, PRIMARY KEY (ns, key))",
    "CREATE TABLE IF NOT EXISTS seq (n INTEGER NOT NULL)",
    "INSERT INTO seq SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM seq)",
)


class Found(NamedTuple):
    """What ``get_versioned`` returns: the value and its version (shaped like sessionkv's, not imported)."""

    value: bytes
    version: int


class StoreClosedError(RuntimeError):
    """An operation on a store that is not started."""


class SQLiteStranger:
    """Correct: namespaced rows, monotonic deadlines, versions from the database's own sequence."""

    capabilities = {"ttl_resolution": 0.001, "min_ttl": 0.001, "atomic_mset": True}
    key_type = "TEXT"

    def __init__(self, namespace: str = "app:", database: str = DATABASE) -> None:
        self.namespace = namespace
        self.database = database
        self.owners = 0
        self.db: sqlite3.Connection | None = None

    # -- lifecycle: the first start() connects, the last owner's close() disconnects --------------

    async def start(self) -> None:
        if self.owners == 0:
            self.db = self.connect()
        self.owners += 1

    async def close(self) -> None:
        if self.owners == 0:
            return
        self.owners -= 1
        if self.owners == 0 and self.db is not None:
            self.db.close()
            self.db = None

    def connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.database, isolation_level=None, timeout=30)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=OFF")  # a test server: no fsync per write
        db.execute(SCHEMA[0].replace("key TEXT", f"key {self.key_type}"))
        for statement in SCHEMA[1:]:
            db.execute(statement)
        return db

    @property
    def conn(self) -> sqlite3.Connection:
        if self.db is None:
            raise StoreClosedError(f"{type(self).__name__} is not started")
        return self.db

    # -- helpers ---------------------------------------------------------------------------------

    def deadline(self, ttl: float) -> float:
        if ttl <= 0:
            raise ValueError("ttl must be > 0")
        return time.monotonic() + ttl

    def next_version(self) -> int:
        row = self.conn.execute("UPDATE seq SET n = n + 1 RETURNING n").fetchone()
        return int(row[0])

    def stored_key(self, key: str) -> str:
        return key

    def row(self, key: str) -> tuple[bytes, int] | None:
        found = self.conn.execute(
            "SELECT value, version FROM kv WHERE ns = ? AND key = ? AND deadline > ?",
            (self.namespace, self.stored_key(key), time.monotonic()),
        ).fetchone()
        return None if found is None else (bytes(found[0]), int(found[1]))

    def write(self, key: str, value: bytes, ttl: float) -> int:
        version = self.next_version()
        self.conn.execute(
            "INSERT OR REPLACE INTO kv (ns, key, value, deadline, version) VALUES (?, ?, ?, ?, ?)",
            (self.namespace, self.stored_key(key), self.stored_value(bytes(value)), self.deadline(ttl), version),
        )
        return version

    def stored_value(self, value: bytes) -> bytes:
        return value

    def read_value(self, value: bytes) -> Any:
        return value

    # -- the published interface -----------------------------------------------------------------

    async def set(self, key: str, value: bytes, ttl: float, *, only_if_exists: bool = False) -> None:
        if only_if_exists and self.row(key) is None:
            return
        self.write(key, value, ttl)

    async def mset(self, items: list[tuple[str, bytes, float]]) -> None:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            for key, value, ttl in items:
                self.write(key, value, ttl)
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    async def get(self, key: str) -> Any:
        found = self.row(key)
        return None if found is None else self.read_value(found[0])

    async def mget(self, keys: list[str]) -> list[Any]:
        return [await self.get(key) for key in keys]

    async def expire(self, *keys: str, ttl: float) -> None:
        deadline = self.deadline(ttl)
        for key in keys:
            if self.row(key) is not None:
                self.conn.execute(
                    "UPDATE kv SET deadline = ?, version = ? WHERE ns = ? AND key = ?",
                    (deadline, self.next_version(), self.namespace, self.stored_key(key)),
                )

    async def keys(self, prefix: str) -> list[str]:
        rows = self.conn.execute(
            "SELECT key FROM kv WHERE ns = ? AND deadline > ?", (self.namespace, time.monotonic())
        ).fetchall()
        return [row[0] for row in rows if row[0].startswith(prefix)]

    async def delete(self, keys: list[str]) -> None:
        for key in keys:
            self.conn.execute("DELETE FROM kv WHERE ns = ? AND key = ?", (self.namespace, self.stored_key(key)))

    # -- optional: versioned writes --------------------------------------------------------------

    async def add(self, key: str, value: bytes, ttl: float) -> bool:
        if self.row(key) is not None:
            return False
        self.write(key, value, ttl)
        return True

    async def get_versioned(self, key: str) -> Found | None:
        found = self.row(key)
        return None if found is None else Found(found[0], found[1])

    async def cas(self, key: str, value: bytes, ttl: float, *, version: int | None) -> int | None:
        found = self.row(key)
        if (found is None) != (version is None) or (found is not None and found[1] != version):
            return None
        return self.write(key, value, ttl)

    async def delete_if(self, key: str, version: int) -> bool:
        found = self.row(key)
        if found is None or found[1] != version:
            return False
        await self.delete([key])
        return True


# -- class 1: what sessionkv.adapt would hide ------------------------------------------------------


class MsetKeepsFirst(SQLiteStranger):
    """mset writes with INSERT OR IGNORE: of two items for one key, the first stays."""

    async def mset(self, items: list[tuple[str, bytes, float]]) -> None:
        first: dict[str, tuple[str, bytes, float]] = {}
        for item in items:
            first.setdefault(item[0], item)
        await super().mset(list(first.values()))


class MgetMisalignsRepeats(SQLiteStranger):
    """mget reads each distinct key once and answers positionally: a repeated key shifts every later answer."""

    async def mget(self, keys: list[str]) -> list[Any]:
        distinct = list(dict.fromkeys(keys))
        values = [await self.get(key) for key in distinct]
        return (values + [None] * len(keys))[: len(keys)]


class EmptyMgetRaises(SQLiteStranger):
    """mget sends ``key IN (...)`` as is: for no keys that is ``IN ()``, which most SQL servers refuse."""

    async def mget(self, keys: list[str]) -> list[Any]:
        if not keys:
            raise sqlite3.OperationalError('near ")": syntax error in "... AND key IN ()"')
        marks = ", ".join("?" for _ in keys)
        rows = self.conn.execute(
            f"SELECT key, value FROM kv WHERE ns = ? AND deadline > ? AND key IN ({marks})",
            (self.namespace, time.monotonic(), *keys),
        ).fetchall()
        found = {row[0]: bytes(row[1]) for row in rows}
        return [found.get(key) for key in keys]


class ListsKeysTwice(SQLiteStranger):
    """keys() also reads a write log without de-duplicating it: a key written twice is listed twice."""

    def __init__(self, namespace: str = "app:", database: str = DATABASE) -> None:
        super().__init__(namespace, database)
        self.log: list[str] = []

    def write(self, key: str, value: bytes, ttl: float) -> int:
        self.log.append(key)
        return super().write(key, value, ttl)

    async def keys(self, prefix: str) -> list[str]:
        live = set(await super().keys(prefix))
        return [key for key in self.log if key in live]


class SecondStartRaises(SQLiteStranger):
    """start() refuses a store that is already started."""

    async def start(self) -> None:
        if self.db is not None:
            raise RuntimeError("already started")
        await super().start()


class FirstCloseClosesAll(SQLiteStranger):
    """close() disconnects at once, whoever else still uses the object."""

    async def close(self) -> None:
        self.owners = 0
        if self.db is not None:
            self.db.close()
            self.db = None


class NoStartAfterClose(SQLiteStranger):
    """Once closed for good, start() refuses."""

    closed_for_good = False

    async def start(self) -> None:
        if self.closed_for_good:
            raise StoreClosedError("this store was closed")
        await super().start()

    async def close(self) -> None:
        await super().close()
        if self.owners == 0:
            self.closed_for_good = True


# -- class 2: untested inputs and promises ---------------------------------------------------------


class NulTruncatesKeys(SQLiteStranger):
    """Keys go through a C API that stops at the first NUL: 'a\\x00b' and 'a' are one key."""

    def stored_key(self, key: str) -> str:
        return key.split("\x00", 1)[0]


class CaseInsensitiveKeys(SQLiteStranger):
    """The key column is ``TEXT COLLATE NOCASE``: 'Room' and 'room' are one key."""

    key_type = "TEXT COLLATE NOCASE"

    def __init__(self, namespace: str = "app:", database: str = "") -> None:
        # its own database: the shared one's table has a case-sensitive key column
        super().__init__(namespace, database or os.path.join(os.path.dirname(DATABASE), "nocase.db"))


class PerObjectVersions(SQLiteStranger):
    """Versions come from a counter on the object, so two objects on one namespace hand out the same ones."""

    def __init__(self, namespace: str = "app:", database: str = DATABASE) -> None:
        super().__init__(namespace, database)
        self.counter = 0

    def next_version(self) -> int:
        self.counter += 1
        return self.counter


class NonAtomicMset(SQLiteStranger):
    """Declares ``atomic_mset`` but writes item by item, yielding to the loop between them (as a thread-pool
    driver would)."""

    async def mset(self, items: list[tuple[str, bytes, float]]) -> None:
        for key, value, ttl in items:
            self.write(key, value, ttl)
            await asyncio.sleep(0)


# -- class 3: namespaces -------------------------------------------------------------------------


class ListsEveryNamespace(SQLiteStranger):
    """keys() forgets the namespace: it lists every namespace's keys."""

    async def keys(self, prefix: str) -> list[str]:
        rows = self.conn.execute("SELECT key FROM kv WHERE deadline > ?", (time.monotonic(),)).fetchall()
        return [row[0] for row in rows if row[0].startswith(prefix)]


# -- class 4: stores that used to stall or mislead the suite ---------------------------------------


class TruncatesValues(SQLiteStranger):
    """Declares no max_value_size but keeps only the first 65,535 bytes of a value (a 16-bit length field)."""

    def stored_value(self, value: bytes) -> bytes:
        return value[:65535]


class GetReturnsStr(SQLiteStranger):
    """get/mget decode values to str."""

    def read_value(self, value: bytes) -> Any:
        return value.decode("utf-8", "replace")


class HangsOnRepeatedKeys(SQLiteStranger):
    """mget of a repeated key waits forever (for a lock its first read still holds)."""

    async def mget(self, keys: list[str]) -> list[Any]:
        if len(set(keys)) != len(keys):
            await asyncio.Event().wait()
        return await super().mget(keys)


class HugeErrors(SQLiteStranger):
    """mget([]) raises an error quoting 4 MiB of server state (a long word, as a server's dump would be)."""

    async def mget(self, keys: list[str]) -> list[Any]:
        if not keys:
            raise RuntimeError("server said: " + "x" * (4 * 1024 * 1024))
        return await super().mget(keys)


#: variant -> the conformance tests that must fail for it (every other test passes)
VARIANTS: dict[type[SQLiteStranger], set[str]] = {
    MsetKeepsFirst: {"test_raw_mset_repeated_key_keeps_the_last_item"},
    MgetMisalignsRepeats: {"test_raw_mget_repeated_keys_answer_every_position"},
    EmptyMgetRaises: {"test_raw_empty_batches_do_nothing"},
    ListsKeysTwice: {"test_raw_keys_lists_each_key_once"},
    SecondStartRaises: {"test_raw_lifecycle_shared_owners_last_close_and_restart"},
    FirstCloseClosesAll: {"test_raw_lifecycle_shared_owners_last_close_and_restart"},
    NoStartAfterClose: {"test_raw_lifecycle_shared_owners_last_close_and_restart"},
    NulTruncatesKeys: {"test_keys_and_prefixes_with_nul"},
    # SQLite's NOCASE also compares only up to a NUL
    CaseInsensitiveKeys: {"test_keys_differing_only_by_case_are_distinct", "test_keys_and_prefixes_with_nul"},
    PerObjectVersions: {"test_versions_agree_across_two_store_objects"},
    NonAtomicMset: {"test_atomic_mset_is_never_seen_half_applied"},
    ListsEveryNamespace: {"test_keys_empty_prefix_lists_whole_namespace_only"},
    TruncatesValues: {
        "test_value_at_max_value_size_works",
        "test_value_over_max_value_size_raises_with_nothing_written",
    },
    HangsOnRepeatedKeys: {"test_raw_mget_repeated_keys_answer_every_position"},
    HugeErrors: {"test_raw_empty_batches_do_nothing"},
}
#: variants failing most of the suite (their tests check what the failures say, not which tests fail)
EVERYWHERE: tuple[type[SQLiteStranger], ...] = (GetReturnsStr,)


def factory(cls: type[SQLiteStranger]) -> Callable[..., SQLiteStranger]:
    """A ``--factory`` target building ``cls`` in the namespace it is given."""

    def make(namespace: str = "app:") -> SQLiteStranger:
        return cls(namespace=namespace)

    make.__name__ = make.__qualname__ = f"make_{cls.__name__}"
    make.__doc__ = f"``--factory`` target: a not-started {cls.__name__}."
    return make


make_sqlite = factory(SQLiteStranger)
for _variant in (*VARIANTS, *EVERYWHERE):
    globals()[f"make_{_variant.__name__}"] = factory(_variant)


def make_sqlite_without_namespace() -> SQLiteStranger:
    """``--factory`` target taking no namespace: every store is in the namespace 'one:'."""
    return SQLiteStranger(namespace="one:")


def make_leaky_without_namespace() -> ListsEveryNamespace:
    """``--factory`` target taking no namespace, for a store that lists other namespaces: not certified either."""
    return ListsEveryNamespace(namespace="one:")
