"""``SQLiteStore``: keys in one SQLite table, every call run on one worker thread.

One thread owns the connection, so calls run one at a time, in order: each operation is atomic
(``only_if_exists`` is a single ``UPDATE ... WHERE expires > now``). Expiry uses the wall clock
(``time.time()``), shared by every process opening the same file; expired rows are invisible at
once and purged periodically. ``keys(prefix)`` reads one range of the primary key,
``[prefix, successor)``, so any prefix, a directory too, costs its own rows
(``directory_listing="indexed"``); ``keys_examined`` counts the rows that range held.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar, TypeVar

from sessionkv import (
    NAMESPACE_OPTION,
    ConfigurationError,
    Option,
    Periodic,
    SessionKVStore,
    StoreCapabilities,
    StoreError,
    StoreNotStartedError,
    StoreURL,
    resolve_options,
)

T = TypeVar("T")

#: keys per ``IN (...)`` query: SQLite builds before 3.32 allow only 999 bound parameters
CHUNK = 500
SCHEMA = """
CREATE TABLE IF NOT EXISTS sessionkv (
    key TEXT PRIMARY KEY,
    value BLOB NOT NULL,
    expires REAL NOT NULL
) WITHOUT ROWID
"""
UPSERT = (
    "INSERT INTO sessionkv (key, value, expires) VALUES (?, ?, ?) "
    "ON CONFLICT(key) DO UPDATE SET value = excluded.value, expires = excluded.expires"
)


def _chunks(items: Sequence[T]) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def _marks(n: int) -> str:
    return ",".join("?" * n)


def prefix_end(prefix: str) -> str | None:
    """The smallest string above every string starting with ``prefix`` (``None``: there is none).

    SQLite compares TEXT as UTF-8 bytes, which orders like code points, so the keys starting with
    ``prefix`` are exactly ``[prefix, prefix_end(prefix))``: the last character that can be
    incremented is, and what follows it dropped (surrogates cannot be stored, so they are skipped).
    """
    chars = list(prefix)
    while chars:
        point = ord(chars.pop()) + 1
        if 0xD800 <= point <= 0xDFFF:
            point = 0xE000
        if point <= 0x10FFFF:
            return "".join(chars) + chr(point)
    return None


class SQLiteStore(SessionKVStore):
    """A store in a SQLite file: ``sqlite:///abs/path.db?namespace=app:``."""

    capabilities = StoreCapabilities(
        ttl_resolution=0.001,
        min_ttl=0.001,
        max_value_size=1024 * 1024,
        atomic_mset=True,
        directory_listing="indexed",  # a prefix is one range of the primary key (see ``_keys``)
    )
    options: ClassVar[dict[str, Option]] = {
        "namespace": NAMESPACE_OPTION,
        "timeout": Option(float, 5.0, "seconds to wait for a database locked by another process", positive=True),
        "purge_interval": Option(float, 60.0, "seconds between deletions of expired rows", positive=True),
    }

    def __init__(
        self,
        path: str,
        *,
        namespace: str = NAMESPACE_OPTION.default,
        timeout: float = 5.0,
        purge_interval: float = 60.0,
    ) -> None:
        self.path = path
        self.namespace = namespace
        self.timeout = timeout
        self.purge_interval = purge_interval
        self._conn: sqlite3.Connection | None = None
        #: rows read by this store's listings (see ``SessionKVStore.keys_examined``)
        self.keys_examined: int = 0
        self._executor: ThreadPoolExecutor | None = None
        self._purger = Periodic(self.purge_interval, self._purge, "sqlite purge of expired rows")

    @classmethod
    def from_url(cls, url: StoreURL, **overrides: Any) -> SQLiteStore:
        if url.hosts or url.username or url.password:
            raise ConfigurationError("sqlite:// takes an absolute file path and no host: sqlite:///abs/path.db")
        if not url.path.startswith("/") or url.path == "/":
            raise ConfigurationError(f"sqlite:// needs an absolute file path, got {url.path!r}")
        return cls(url.path, **resolve_options(cls.options, url.query, overrides, scheme="sqlite"))

    # -- lifecycle ----------------------------------------------------------------------------
    async def _start(self) -> None:
        if self._conn is not None:
            return
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sessionkv-sqlite")
        try:
            self._conn = await asyncio.get_running_loop().run_in_executor(self._executor, self._connect)
        except sqlite3.Error as exc:
            self._executor.shutdown(wait=False)
            self._executor = None
            raise StoreError(f"cannot open SQLite database {self.path!r}: {exc}") from exc
        self._purger.start()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(SCHEMA)
        conn.execute("DELETE FROM sessionkv WHERE expires <= ?", (time.time(),))
        return conn

    async def _close(self) -> None:
        await self._purger.stop()
        conn, executor = self._conn, self._executor
        self._conn, self._executor = None, None
        if conn is not None and executor is not None:
            await asyncio.get_running_loop().run_in_executor(executor, conn.close)
        if executor is not None:
            executor.shutdown(wait=True)

    async def _purge(self) -> None:
        await self._run(lambda c, now: c.execute("DELETE FROM sessionkv WHERE expires <= ?", (now,)))

    async def _run(self, work: Callable[[sqlite3.Connection, float], T]) -> T:
        """Run ``work(connection, now)`` on the worker thread; ``now`` is read there, just before."""
        conn, executor = self._conn, self._executor
        if conn is None or executor is None:
            raise StoreNotStartedError(f"{self!r} is not started (use `async with`)")

        def call() -> T:
            return work(conn, time.time())

        try:
            return await asyncio.get_running_loop().run_in_executor(executor, call)
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite error on {self.path!r}: {exc}") from exc

    # -- the contract -------------------------------------------------------------------------
    # Input arrives validated (SessionKVStore wraps these methods): keys are str, values bytes,
    # ttls floats >= min_ttl, batches non-empty and de-duplicated.
    async def _set(self, key: str, value: bytes, ttl: float, *, only_if_exists: bool) -> None:
        full = self.namespace + key

        def work(c: sqlite3.Connection, now: float) -> None:
            if only_if_exists:
                c.execute(
                    "UPDATE sessionkv SET value = ?, expires = ? WHERE key = ? AND expires > ?",
                    (value, now + ttl, full, now),
                )
            else:
                c.execute(UPSERT, (full, value, now + ttl))

        await self._run(work)

    async def _mset(self, items: list[tuple[str, bytes, float]]) -> None:
        ns = self.namespace

        def work(c: sqlite3.Connection, now: float) -> None:
            with _transaction(c):
                c.executemany(UPSERT, [(ns + key, value, now + ttl) for key, value, ttl in items])

        await self._run(work)

    async def _get(self, key: str) -> bytes | None:
        full = self.namespace + key

        def work(c: sqlite3.Connection, now: float) -> bytes | None:
            row = c.execute("SELECT value FROM sessionkv WHERE key = ? AND expires > ?", (full, now)).fetchone()
            return None if row is None else bytes(row[0])

        return await self._run(work)

    async def _mget(self, keys: list[str]) -> list[bytes | None]:
        full = [self.namespace + key for key in keys]
        found = await self._run(lambda c, now: self._live(c, now, full))
        return [found.get(key) for key in full]

    @staticmethod
    def _live(c: sqlite3.Connection, now: float, full: Sequence[str]) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        for part in _chunks(full):
            sql = f"SELECT key, value FROM sessionkv WHERE key IN ({_marks(len(part))}) AND expires > ?"
            found.update((k, bytes(v)) for k, v in c.execute(sql, (*part, now)))
        return found

    async def _expire(self, keys: list[str], ttl: float) -> None:
        full = [self.namespace + key for key in keys]

        def work(c: sqlite3.Connection, now: float) -> None:
            with _transaction(c):
                for part in _chunks(full):
                    sql = f"UPDATE sessionkv SET expires = ? WHERE key IN ({_marks(len(part))}) AND expires > ?"
                    c.execute(sql, (now + ttl, *part, now))

        await self._run(work)

    async def _touch(self, keys: list[str], ttl: float) -> list[str]:
        """One transaction: find the live keys, refresh them, report the others (exact, unlike the default)."""
        ns = self.namespace
        full = [ns + key for key in keys]

        def work(c: sqlite3.Connection, now: float) -> list[str]:
            with _transaction(c):
                live = self._live(c, now, full)
                for part in _chunks(list(live)):
                    c.execute(
                        f"UPDATE sessionkv SET expires = ? WHERE key IN ({_marks(len(part))})", (now + ttl, *part)
                    )
            return [key for key, f in zip(keys, full, strict=True) if f not in live]

        return await self._run(work)

    async def _keys(self, prefix: str) -> list[str]:
        start, cut = self.namespace + prefix, len(self.namespace)
        end = prefix_end(start)

        def work(c: sqlite3.Connection, now: float) -> tuple[list[str], int]:
            # one range of the primary key, compared literally (no LIKE/GLOB: % _ * ? [ ] \\ are ordinary)
            if end is None:
                rows = c.execute("SELECT key, expires FROM sessionkv WHERE key >= ?", (start,)).fetchall()
            else:
                rows = c.execute(
                    "SELECT key, expires FROM sessionkv WHERE key >= ? AND key < ?", (start, end)
                ).fetchall()
            return [key[cut:] for key, expires in rows if expires > now], len(rows)

        found, examined = await self._run(work)
        self.keys_examined += examined
        return found

    async def _delete(self, keys: list[str]) -> None:
        full = [self.namespace + key for key in keys]

        def work(c: sqlite3.Connection, now: float) -> None:
            with _transaction(c):
                for part in _chunks(full):
                    c.execute(f"DELETE FROM sessionkv WHERE key IN ({_marks(len(part))})", part)

        await self._run(work)

    def __repr__(self) -> str:
        return f"<SQLiteStore sqlite://{self.path} namespace={self.namespace!r}>"


@contextlib.contextmanager
def _transaction(c: sqlite3.Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE ... COMMIT (ROLLBACK on error): the batch applies all or nothing."""
    c.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        c.execute("ROLLBACK")
        raise
    c.execute("COMMIT")
