"""The PostgreSQL (asyncpg) backend for sessionkv: ``pip install "sessionkv[postgres]"``.

URLs: ``postgresql://[user[:password]@]host[:port][,host[:port]...]/dbname[?option=value...]`` and
``postgres://...``. Options: namespace, table (default ``sessionkv``), schema (``public``), create_table
(off), unlogged, pool_min_size, pool_max_size, command_timeout, connect_timeout, statement_cache_size
(0 behind PgBouncer in transaction mode), sweep_interval, sweep_batch, and libpq's sslmode, sslrootcert,
sslcert, sslkey. The DDL for migrations: ``python -m sessionkv_postgres.schema``.

Footprint rule: a key is one row; once the key expires the row is invisible at once and deleted by the
next background sweep of a store running on the table (every ``sweep_interval`` seconds, and once more as a
store closes), and ``delete`` removes it at once. The sequence handing out versions is one per table,
whatever the number of keys.

This package does not import asyncpg until ``PostgresStore`` is first accessed or a postgres URL is opened.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sessionkv import lazy_exports

if TYPE_CHECKING:
    from .store import PostgresStore

__getattr__ = lazy_exports(__name__, {"PostgresStore": ".store"})

__all__ = ["PostgresStore"]
