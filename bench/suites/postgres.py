"""PostgreSQL: PostgresStore against bare asyncpg sending the same statements, get_for_call in a crowded namespace
against an empty one, and the contended counter, all on one throwaway server.

Bare: an asyncpg pool of the store's size and settings running the statements of
``sessionkv_postgres.statements`` (the same SQL text, on the same table) for keys of its own prefix: get
``fetchval``, set the upsert, mget ``key = ANY($1)``, mset one ``INSERT ... SELECT FROM unnest(...)``,
expire one ``UPDATE ... WHERE key = ANY($1)``. That pool skips asyncpg's reset query on release, as the
store's does, so the ratio is the store's own cost (input checks, key escaping, the retry wrapper); two more
rows set get and set against a pool with asyncpg's defaults (a reset query after every call), which is what
an application on a bare pool pays. Batches of 100 and 1,000 run in --quick too: they take milliseconds here.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from sessionkv_postgres.statements import Statements
from sessionkv_postgres.store import PostgresStore

from ..contention import add_counter
from ..operations import ALL, Operation, PublishedKV, matrix
from ..ratio import compare
from ..suite import Context, compare_matrix, guarded, ratio_table
from .registry import Target, lookup_rows, lookup_rows_table

GROUP = "PostgreSQL: ours vs bare asyncpg"


class BarePostgres:
    """A ``KV`` on a bare asyncpg pool: the statements our store sends, on keys ``prefix + key``."""

    supports = ALL

    def __init__(self, pool: asyncpg.Pool, statements: Statements, prefix: str) -> None:
        self.pool, self.sql, self.prefix = pool, statements, prefix

    async def get(self, key: str) -> object:
        return await self.pool.fetchval(self.sql.get, self.prefix + key)

    async def set(self, key: str, value: bytes, ttl: float) -> object:
        return await self.pool.execute(self.sql.set, self.prefix + key, value, ttl)

    async def mget(self, keys: list[str]) -> object:
        return await self.pool.fetch(self.sql.mget, [self.prefix + key for key in keys])

    async def mset(self, items: list[tuple[str, bytes, float]]) -> object:
        keys = [self.prefix + key for key, _, _ in items]
        return await self.pool.execute(self.sql.mset, keys, [v for _, v, _ in items], [t for _, _, t in items])

    async def expire(self, keys: list[str], ttl: float) -> object:
        return await self.pool.execute(self.sql.expire, [self.prefix + key for key in keys], ttl)


async def no_reset(conn: Any) -> None:
    """Send nothing when a connection goes back to the pool (the store's pool does the same)."""


async def bare_pool(store: PostgresStore, *, reset: bool) -> asyncpg.Pool:
    """A pool like the store's (DSN, password, sizes, timeouts, statement cache); ``reset``: asyncpg's default."""
    config = store.config
    pool: asyncpg.Pool = await asyncpg.create_pool(
        config.dsn, **config.pool_options(), **({} if reset else {"reset": no_reset})
    )
    return pool


async def run(context: Context) -> None:
    table = ratio_table(
        "PostgreSQL: PostgresStore vs bare asyncpg (same statements, same table, same server)",
        "Bare: an asyncpg pool of the same size and settings running sessionkv_postgres.statements' SQL. Ours",
        "validates input, escapes keys and wraps each statement in its retry/timeout handling. The rows against",
        "'asyncpg defaults' use a pool that sends asyncpg's reset query after every call (ours does not: the",
        "statements leave no session state). The server runs with fsync=off and synchronous_commit=off.",
    )
    lookup_table = lookup_rows_table("PostgreSQL: ")
    context.report.tables += [table, lookup_table]
    url = context.servers.postgresql()

    async def against_bare() -> None:
        async with PostgresStore(url, namespace="bench-ours:") as store:
            sql = Statements.of(store.config.schema, store.config.table)
            ours = PublishedKV(store)
            pool = await bare_pool(store, reset=False)
            try:
                operations = matrix(quick=False)  # 100 and 1,000 keys even in --quick: milliseconds each
                bare = BarePostgres(pool, sql, "bench-bare:")
                await compare_matrix(context, table, GROUP, ours, bare, "asyncpg", operations)
            finally:
                await pool.close()
            defaults = await bare_pool(store, reset=True)
            try:
                bare = BarePostgres(defaults, sql, "bench-defaults:")
                for op in (Operation("get"), Operation("set")):
                    await op.prepare(ours)
                    await op.prepare(bare)
                    ratio = await compare(op.call(ours), op.call(bare), context.profile)
                    context.report.ratio_row(table, GROUP, op.label, "asyncpg defaults", ratio)
            finally:
                await defaults.close()
            await store.delete(await store.keys(""))

    await guarded(context, "postgres", table, against_bare)
    others = 20_000 if context.profile.quick else 200_000
    target = Target("postgres", lambda c, ns: c.servers.postgresql(), (), others)
    await guarded(context, "postgres get_for_call", lookup_table, lambda: lookup_rows(context, target, lookup_table))
    await add_counter(
        context,
        "PostgreSQL",
        url,
        "Each attempt is a SELECT of the value and version, then one UPDATE ... WHERE version = $4 RETURNING version.",
    )
