"""``PostgresStore``: sessionkv on one PostgreSQL table through an asyncpg connection pool.

Layout and DDL: ``sessionkv_postgres.schema``; the SQL: ``sessionkv_postgres.statements``. Every operation
is one statement, so one round trip: ``get``/``mget`` (``key = ANY($1)``), ``set``/``mset`` (an upsert of
``unnest``-ed arrays: all items or none, ``atomic_mset=True``), ``set(only_if_exists=True)``/``expire``/
``touch`` (an ``UPDATE`` of live rows only: never creates; ``touch`` returns the updated keys), ``delete``.
``keys(prefix)`` (and ``items``, reading the values too) is one index range ``key >= p AND key <
prefix_end(p)`` on the ``COLLATE "C"`` primary key (never ``LIKE``), so any prefix costs its own rows
(``directory_listing="indexed"``); ``keys_examined`` adds every row of the range, expired ones included.
``round_trips`` counts the statements sent. A connection goes back to the pool without asyncpg's reset
query (``_keep_session``): these statements leave no session state, so that query would be a second round
trip on every operation.

Expiry is the server's: rows hold ``expires_at = now() + ttl`` and every read and condition compares it with
the server's ``now()``, so nodes need no clock sync. Footprint: an expired row is invisible at once and
deleted by the background sweep (``sweep_interval``, batches of ``sweep_batch``, ``SKIP LOCKED`` so stores
sharing a table share the work; each sweep runs until no row that had expired when it began is left), so a
key's row stays about ``sweep_interval`` plus one drain after it expired while a store is running on the
table; closing a store sweeps once more (bounded by ``command_timeout``). Correctness never depends on it.

Versions: the ``version`` column, from the table's sequence, new on every write (``set``, ``mset``, ``add``,
``cas``; ``expire``/``touch`` keep it), so versions compare across stores on one table. ``add``/``cas``/
``delete_if`` are single conditional statements decided on the primary's one row (under READ COMMITTED a
concurrent write makes the condition re-read the newest row), so ``linearizable=True`` and
``fencing="strict"``. A lost connection retries an idempotent statement once on a fresh connection; a
conditional write whose connection broke is never re-sent and raises ``StoreError`` ("may have been applied").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, NoReturn, TypeVar

import asyncpg
from asyncpg import exceptions as pg

from sessionkv import (
    ConfigurationError,
    Option,
    Periodic,
    SessionKVStore,
    StoreCapabilities,
    StoreError,
    StoreNotStartedError,
    StoreURL,
    Version,
    Versioned,
    redact,
)

from .config import OPTIONS, PostgresConfig
from .keyspace import escape, prefix_end, unescape
from .schema import DESCRIBE, SCHEMA_EXISTS, SEQUENCE_EXISTS, ddl, sequence_name, table_problem
from .statements import Statements

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Largest key (UTF-8 bytes): the stored key (namespace + key, NUL escaped to 2 bytes) must fit one btree
#: index entry (2,704 bytes on 8 KiB pages); namespaces are limited to ``MAX_NAMESPACE_SIZE`` for that.
MAX_KEY_SIZE = 1024
MAX_NAMESPACE_SIZE = 512
#: Largest value: bytea holds 1 GB, but one statement carries it whole; 64 MiB keeps a call's memory sane.
MAX_VALUE_SIZE = 64 * 1024 * 1024

CAPABILITIES = StoreCapabilities(
    ttl_resolution=0.001,  # timestamptz holds microseconds; every read compares with the server's now()
    min_ttl=0.001,
    max_ttl=None,
    max_value_size=MAX_VALUE_SIZE,
    max_key_size=MAX_KEY_SIZE,
    atomic_mset=True,  # one INSERT ... SELECT FROM unnest(...) statement: one transaction
    linearizable=True,  # one primary decides every compare on the row's newest version
    fencing="strict",
    directory_listing="indexed",  # a prefix is one range of the COLLATE "C" primary key
)

#: The connection broke, or the server is going away or not up yet: a fresh connection may work.
#: (``InternalClientError``: a connection the server dropped while it sat in the pool can refuse the next
#: statement with "another operation is in progress" before it notices it is closed.)
LOST = (
    OSError,
    pg.InternalClientError,
    pg.PostgresConnectionError,
    pg.AdminShutdownError,
    pg.CrashShutdownError,
    pg.CannotConnectNowError,
)
#: The server aborted the statement for a concurrency reason: an idempotent statement may simply run again.
CONFLICT = (pg.DeadlockDetectedError, pg.SerializationError)
#: Login refused, database missing: the URL is wrong, not the server down.
LOGIN = (pg.InvalidAuthorizationSpecificationError, pg.InvalidCatalogNameError, pg.InvalidPasswordError)
SERVER_ERRORS = (*LOST, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)


class PostgresStore(SessionKVStore):
    """A store on one PostgreSQL table (``postgresql://user@host/db?table=sessionkv``); namespaces share it."""

    capabilities = CAPABILITIES
    options: ClassVar[dict[str, Option]] = OPTIONS
    _mset_in_order = False  # an upsert cannot touch one row twice: the base de-duplicates
    #: rows of the ranges this store's listings read (set in ``__init__``)
    keys_examined: int
    db_system_name = "postgresql"  # OpenTelemetry db.system.name (sessionkv.telemetry)

    def __init__(self, url: str | StoreURL, /, *, namespace: str | None = None, **options: Any) -> None:
        if not isinstance(url, (str, StoreURL)):
            raise TypeError(f"PostgresStore takes a postgresql:// URL, not {type(url).__name__}")
        parsed = url if isinstance(url, StoreURL) else StoreURL.parse(url)
        if namespace is not None:
            options["namespace"] = namespace
        self._config = PostgresConfig.from_url(parsed, options)
        self.namespace = self._config.namespace
        if len(self.namespace.encode()) > MAX_NAMESPACE_SIZE:
            raise ConfigurationError(f"namespace is over {MAX_NAMESPACE_SIZE} UTF-8 bytes")
        self._ns = escape(self.namespace)
        self._end = prefix_end(self._ns) or ""
        self._sql = Statements.of(self._config.schema, self._config.table)
        self._pool: asyncpg.Pool | None = None
        self._sweeper = Periodic(self._config.sweep_interval, self.sweep, "postgres expiry sweep")
        self.keys_examined = 0
        #: statements this store sent (each one round trip), retries included
        self.round_trips = 0
        #: sweeps this store completed and the expired rows they deleted (any namespace's)
        self.sweeps = 0
        self.swept = 0

    @classmethod
    def from_url(cls, url: StoreURL, **overrides: Any) -> PostgresStore:
        return cls(url, **overrides)

    @property
    def config(self) -> PostgresConfig:
        """The checked configuration (DSN without the password, table, pool sizes, timeouts...)."""
        return self._config

    @property
    def pool(self) -> asyncpg.Pool:
        """The asyncpg pool; raises ``StoreNotStartedError`` before ``start()``/after ``close()``."""
        if self._pool is None:
            raise StoreNotStartedError(f"{self!r} is not started: use `async with store:` or `await store.start()`")
        return self._pool

    # -- lifecycle -------------------------------------------------------------------------------

    async def _start(self) -> None:
        if self._pool is not None:
            return
        config = self._config
        try:
            async with asyncio.timeout(config.connect_timeout * (config.pool_min_size + 1)):
                pool = await asyncpg.create_pool(
                    config.dsn,
                    **config.pool_options(),
                    server_settings={"application_name": "sessionkv"},
                    reset=_keep_session,
                )
        except LOGIN as exc:
            raise ConfigurationError(f"PostgreSQL refused {config.describe()}: {self._clean(exc)}") from None
        except pg.ClientConfigurationError as exc:
            raise ConfigurationError(f"cannot connect to {config.describe()}: {self._clean(exc)}") from None
        except SERVER_ERRORS as exc:
            self._raise("connect", exc, connecting=True)
        try:
            async with pool.acquire(timeout=config.connect_timeout) as conn:
                await self._check_table(conn)
        except BaseException as exc:
            pool.terminate()
            if isinstance(exc, SERVER_ERRORS) and not isinstance(exc, ConfigurationError):
                self._raise("start", exc)
            raise
        self._pool = pool
        self._sweeper.start()

    async def _close(self) -> None:
        await self._sweeper.stop()
        if self._pool is not None:
            await self._last_sweep()
        pool, self._pool = self._pool, None
        if pool is not None:
            try:
                await asyncio.wait_for(pool.close(), self._config.command_timeout)
            except (TimeoutError, *SERVER_ERRORS):
                pool.terminate()

    async def _check_table(self, conn: Any) -> None:
        """The table must exist with sessionkv's columns (created first if ``create_table``)."""
        config = self._config
        rows = await conn.fetch(DESCRIBE, config.schema, config.table)
        if not rows and config.create_table:
            if not await conn.fetchval(SCHEMA_EXISTS, config.schema):
                raise ConfigurationError(f"PostgreSQL schema {config.schema!r} does not exist ({config.describe()})")
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", config.qualified_table)
                for statement in ddl(config.schema, config.table, unlogged=config.unlogged):
                    await conn.execute(statement)
            log.info("created PostgreSQL table %s", config.describe())
            rows = await conn.fetch(DESCRIBE, config.schema, config.table)
        if not rows:
            missing = "table" if await conn.fetchval(SCHEMA_EXISTS, config.schema) else "schema"
            where = config.table if missing == "table" else config.schema
            raise ConfigurationError(
                f"PostgreSQL {missing} {where!r} does not exist ({config.describe()}): add create_table=true, or "
                f"create it from `python -m sessionkv_postgres.schema --schema {config.schema} --table {config.table}`"
            )
        problem = table_problem([tuple(row) for row in rows])
        if problem is None and not await conn.fetchval(SEQUENCE_EXISTS, config.schema, sequence_name(config.table)):
            problem = f"no sequence {sequence_name(config.table)}"
        if problem:
            raise ConfigurationError(f"PostgreSQL table {config.describe()} cannot hold sessionkv keys: {problem}")

    # -- operations ------------------------------------------------------------------------------

    async def _set(self, key: str, value: bytes, ttl: float, *, only_if_exists: bool) -> None:
        sql = self._sql.set_if_exists if only_if_exists else self._sql.set
        full = self._ns + escape(key)
        await self._call("set", lambda conn: conn.execute(sql, full, value, ttl))

    async def _mset(self, items: list[tuple[str, bytes, float]]) -> None:
        ns = self._ns
        rows = sorted((ns + escape(key), value, ttl) for key, value, ttl in items)  # one lock order for all
        keys, values, ttls = (list(column) for column in zip(*rows, strict=True))
        await self._call("mset", lambda conn: conn.execute(self._sql.mset, keys, values, ttls))

    async def _get(self, key: str) -> bytes | None:
        full = self._ns + escape(key)
        value: bytes | None = await self._call("get", lambda conn: conn.fetchval(self._sql.get, full))
        return value

    async def _mget(self, keys: list[str]) -> list[bytes | None]:
        full = [self._ns + escape(key) for key in keys]
        rows = await self._call("mget", lambda conn: conn.fetch(self._sql.mget, full))
        found: dict[str, bytes] = {row[0]: row[1] for row in rows}
        return [found.get(key) for key in full]

    async def _expire(self, keys: list[str], ttl: float) -> None:
        full = [self._ns + escape(key) for key in keys]
        await self._call("expire", lambda conn: conn.execute(self._sql.expire, full, ttl))

    async def _touch(self, keys: list[str], ttl: float) -> list[str]:
        full = [self._ns + escape(key) for key in keys]
        rows = await self._call("touch", lambda conn: conn.fetch(self._sql.touch, full, ttl))
        refreshed = {row[0] for row in rows}
        return [key for key, stored in zip(keys, full, strict=True) if stored not in refreshed]

    async def _keys(self, prefix: str) -> list[str]:
        start = self._ns + escape(prefix)
        end = prefix_end(start) or self._end
        rows = await self._call("keys", lambda conn: conn.fetch(self._sql.keys, start, end))
        self.keys_examined += len(rows)
        cut = len(self._ns)
        return [unescape(row[0][cut:]) for row in rows if row[1]]

    async def _items(self, prefix: str) -> list[tuple[str, bytes]]:
        """One range read of keys and values (``keys``' range: its cost is the same rows)."""
        start = self._ns + escape(prefix)
        end = prefix_end(start) or self._end
        rows = await self._call("items", lambda conn: conn.fetch(self._sql.items, start, end))
        self.keys_examined += len(rows)
        cut = len(self._ns)
        return [(unescape(row[0][cut:]), row[1]) for row in rows if row[1] is not None]

    async def _delete(self, keys: list[str]) -> None:
        full = [self._ns + escape(key) for key in keys]
        await self._call("delete", lambda conn: conn.execute(self._sql.delete, full))

    # -- versioned writes (versions are the table sequence's numbers) -----------------------------

    async def _add(self, key: str, value: bytes, ttl: float) -> bool:
        return await self._cas(key, value, ttl, None, op="add") is not None

    async def _get_versioned(self, key: str) -> Versioned | None:
        full = self._ns + escape(key)
        row = await self._call("get_versioned", lambda conn: conn.fetchrow(self._sql.get_versioned, full))
        return None if row is None else Versioned(row[0], int(row[1]))

    async def _cas(
        self, key: str, value: bytes, ttl: float, version: Version | None, *, op: str = "cas"
    ) -> Version | None:
        full = self._ns + escape(key)
        args: tuple[object, ...]
        if version is None:
            sql, args = self._sql.add, (full, value, ttl)
        else:
            number = version_number(version)
            if number is None:  # not a version this store hands out: it matches nothing
                return None
            sql, args = self._sql.cas, (full, value, ttl, number)
        written: int | None = await self._call(op, lambda conn: conn.fetchval(sql, *args), idempotent=False)
        return written

    async def _delete_if(self, key: str, version: Version) -> bool:
        number = version_number(version)
        if number is None:
            return False
        full = self._ns + escape(key)
        deleted = await self._call(
            "delete_if", lambda conn: conn.fetchval(self._sql.delete_if, full, number), idempotent=False
        )
        return deleted is not None

    # -- housekeeping ----------------------------------------------------------------------------

    async def sweep(self) -> int:
        """Delete the table's expired rows (any namespace's), ``sweep_batch`` a statement, until a statement finds
        fewer: every row expired when the sweep began is gone when it returns, however many churned since the last
        one (capping the statements left a backlog that grew with the write rate). Returns how many went."""
        batch = self._config.sweep_batch
        total = 0
        while True:
            deleted = int(await self._call("sweep", lambda conn: conn.fetchval(self._sql.sweep, batch)))
            total += deleted
            self.swept += deleted
            if deleted < batch:
                self.sweeps += 1
                return total

    async def _last_sweep(self) -> None:
        """A sweep as the store closes, so rows that expired since the last one do not wait for another store to
        come; bounded by ``command_timeout``, and a failure or timeout only leaves them for later."""
        try:
            async with asyncio.timeout(self._config.command_timeout):
                await self.sweep()
        except (TimeoutError, StoreError) as exc:
            log.debug("postgres sweep at close skipped: %s", type(exc).__name__)

    # -- plumbing --------------------------------------------------------------------------------

    async def _call(self, op: str, run: Callable[[Any], Awaitable[T]], *, idempotent: bool = True) -> T:
        """One statement on a pooled connection, bounded by the timeouts; failures become ``StoreError``.

        A broken connection is dropped (never returned to the pool); an idempotent statement then runs once
        more on a fresh one, as does one the server aborted for a deadlock or serialization conflict.
        """
        pool = self.pool
        config = self._config
        for attempt in (1, 2):
            try:
                conn = await pool.acquire(timeout=config.connect_timeout)
            except SERVER_ERRORS as exc:
                if attempt == 1 and isinstance(exc, LOST):
                    await self._expire_connections(pool)
                    continue
                self._raise(op, exc, connecting=True)  # nothing was sent
            try:
                self.round_trips += 1
                return await run(conn)
            except BaseException as exc:
                broken = isinstance(exc, (*LOST, TimeoutError, asyncio.CancelledError)) or _closed(conn)
                if broken:
                    _drop(conn)  # it may be mid-statement: never hand it out again
                if not isinstance(exc, SERVER_ERRORS):
                    raise
                retry = attempt == 1 and idempotent and (isinstance(exc, CONFLICT) or (broken and not _timed_out(exc)))
                if retry:
                    if broken:
                        await self._expire_connections(pool)
                    continue
                if broken and not idempotent and not _timed_out(exc):
                    self._raise(op, exc, unknown=True)
                self._raise(op, exc, unknown=not idempotent and _timed_out(exc))
            finally:
                await self._release(pool, conn)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _release(self, pool: asyncpg.Pool, conn: Any) -> None:
        """Give ``conn`` back to the pool; a connection that broke meanwhile is dropped, never an error here
        (the statement's own outcome, already decided, is what the caller gets)."""
        try:
            await pool.release(conn, timeout=self._config.connect_timeout)
        except (TimeoutError, *SERVER_ERRORS):
            _drop(conn)

    async def _expire_connections(self, pool: asyncpg.Pool) -> None:
        """Have the pool replace every idle connection (after one broke, the others likely did too)."""
        try:
            await asyncio.wait_for(pool.expire_connections(), self._config.connect_timeout)
        except (TimeoutError, *SERVER_ERRORS):
            pass

    def _clean(self, exc: BaseException) -> str:
        """``exc`` as one line with the password hidden."""
        text = redact(f"{type(exc).__name__}: {exc}".splitlines()[0] if str(exc) else type(exc).__name__)
        password = self._config.password
        return text.replace(password, "***") if password else text

    def _raise(self, op: str, exc: BaseException, *, unknown: bool = False, connecting: bool = False) -> NoReturn:
        """Raise ``StoreError`` for a failed ``op``, cause chained, one line, password hidden.

        ``connecting``: it failed getting a connection (the statement was not sent).
        """
        if _timed_out(exc) and connecting:
            detail = f"no connection within {self._config.connect_timeout:g} s (connect_timeout option)"
        elif _timed_out(exc):
            detail = f"no reply within {self._config.command_timeout:g} s (command_timeout option)"
        else:
            detail = self._clean(exc)
        if unknown:
            detail += "; the statement may have been applied: read the key again to know"
        raise StoreError(f"postgres {op} failed on {self._config.describe()}: {detail}") from exc

    def __repr__(self) -> str:
        return f"<PostgresStore {self._config.describe()} namespace={self.namespace!r}>"


def _closed(conn: Any) -> bool:
    """Whether a pooled connection is closed (one that closed mid-statement is already back in the pool)."""
    try:
        return bool(conn.is_closed())
    except asyncpg.InterfaceError:  # "released back to the pool": asyncpg did so when it closed
        return True


def _drop(conn: Any) -> None:
    """Close a pooled connection at once, so the pool opens a fresh one (a no-op if the pool has it back)."""
    with contextlib.suppress(asyncpg.InterfaceError):
        conn.terminate()


async def _keep_session(conn: Any) -> None:
    """The pool's reset between borrowers: nothing to send. sessionkv's statements set no session state (no
    ``SET``, ``LISTEN``, cursors or session advisory locks; a timed-out connection is terminated, and asyncpg
    still rolls back a transaction left open), so asyncpg's default reset query would only cost a round trip."""


def _timed_out(exc: BaseException) -> bool:
    return isinstance(exc, TimeoutError)


def version_number(version: Version) -> int | None:
    """The sequence number a version token stands for, or ``None`` if it is not one (no row has such a version)."""
    if isinstance(version, int) and not isinstance(version, bool) and 0 < version < 2**63:
        return version
    return None
