"""Throughput under concurrency: ``get`` and ``set`` at 1, 16 and 64 concurrent tasks, ours against each bare client.

Measured with ``bench.concurrency`` (alternating blocks, median of the per-pair ratios); each task
reads or writes a key of its own (``bench/c<i>``), 100-byte values, ttl 60 s. Same server, same
connection budget on both sides:

- memcached: ``MemcachedStore`` (pool of 4) against aiomcache's ``Client`` (pool of 4), which sends
  one command per call. Ours also files every written key in its directory index.
- etcd: ``EtcdStore`` against plain aiohttp requests to the same JSON gateway (same connection
  limit): ``/kv/range``, and ``/kv/put`` carrying a lease of the same ttl granted once beforehand
  (the cheapest put with a ttl; ours reuses recent leases the same way).
- DynamoDB on moto: ``DynamoDBStore`` against bare aioboto3 ``GetItem`` (consistent) / ``PutItem`` on
  the store's own client and table. moto serves one request at a time.
- PostgreSQL: ``PostgresStore`` against a bare asyncpg pool of the same size and settings running the
  store's own statements (``bench.suites.postgres.BarePostgres``).

The server-side ceiling, in each table's notes, from a load generator against the same server in the
same run, 64 connections each awaiting one reply at a time:

- memcached: ``memcaslap`` (libmemcached-tools; libmemcached's libevent load generator, the one of its
  two ``slap`` tools with fixed value sizes and a run time: ``memcslap`` draws 50-5,000-byte values and
  runs a fixed count), ``-T 2 -c 64``, 100-byte values, a get-only and a set-only run.
- PostgreSQL: ``pgbench -c 64 -j 2 -M prepared`` running the store's own ``get`` and ``set`` statements on
  a table of the store's layout in a scratch schema (dropped afterwards), each client on a key of its own.
- etcd: not measured. etcd-client's ``etcdctl check perf`` runs puts for a fixed 60 s, capped at a target
  rate (150 to 15,000 writes/s from 50 to 1,000 clients, by ``--load``), and judges pass/fail: it gives no
  maximum rate at 64 connections; etcd's ``benchmark`` tool is not packaged in Debian.
- DynamoDB on moto: not measured: moto serves one request at a time, so the server is the ceiling the
  rows already show.
"""

from __future__ import annotations

import asyncio
import base64
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import aiohttp
import aiomcache
import asyncpg

from sessionkv import StoreURL
from sessionkv_dynamodb.layout import build_item, primary_key
from sessionkv_dynamodb.store import DynamoDBStore
from sessionkv_etcd.store import EtcdStore
from sessionkv_memcached.store import MemcachedStore
from sessionkv_postgres.schema import ddl, quoted
from sessionkv_postgres.statements import Statements
from sessionkv_postgres.store import PostgresStore

from ..concurrency import TaskCall, task_key, throughput_rows, throughput_table
from ..operations import TTL, VALUE
from ..report import Table
from ..suite import Context, guarded
from .postgres import BarePostgres, bare_pool

POOL = 4
#: Seconds of each load-generator run (memcaslap, pgbench), by profile (quick: CI).
CEILING_SECONDS = {True: 1, False: 3}
ETCD_CEILING = (
    "Server-side ceiling: not measured (etcdctl check perf runs puts for a fixed 60 s at a capped rate,"
    " 150 to 15,000 writes/s from 50 to 1,000 clients, and judges pass/fail: no maximum rate at 64 connections;"
    " etcd's benchmark tool is not packaged in Debian)."
)
MOTO_CEILING = (
    "Server-side ceiling: not measured (moto answers from one Python process, one request at a time: the server is"
    " the ceiling, and the rows already show it)."
)
LEVEL_NOTE = "Each of the K tasks awaits its own key's calls back to back; figures are all calls over a block's time."


async def _prepare(writes: TaskCall, tasks: int = 64) -> None:
    """Write every task's key once (reads then hit)."""
    for index in range(tasks):
        await writes(index)


def _published(store: Any) -> tuple[TaskCall, TaskCall]:
    """``get`` and ``set`` of task keys on a store with the published methods."""

    async def get(index: int) -> object:
        return await store.get(task_key(index))

    async def set_(index: int) -> object:
        return await store.set(task_key(index), VALUE, TTL)

    return get, set_


async def _compare(
    context: Context, table: Table, store: Any, bare_get: TaskCall, bare_set: TaskCall, group: str, baseline: str
) -> None:
    """Fill every task's key on both sides, then measure ``get`` and ``set`` of ``store`` against the bare calls."""
    ours_get, ours_set = _published(store)
    await _prepare(ours_set)
    await _prepare(bare_set)
    ops = [("get", ours_get, bare_get), ("set", ours_set, bare_set)]
    await throughput_rows(context.report, context.profile, table, group, ops, baseline)


def _run(argv: list[str], seconds: int, env: dict[str, str] | None = None) -> str:
    """Run a load generator to the end; its standard output."""
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds * 2 + 60, check=True, env=env)
    return done.stdout


async def memcaslap(host: str, port: int, quick: bool) -> str:
    """The ``memcaslap`` ceiling of the memcached at ``host:port``, as a table note.

    Two runs, set-only then get-only (that one first sets every connection's 1k-item window, untimed), each
    64 connections on 2 threads, 100-byte values, 24-byte keys. memcaslap prints ``cmd_get``/``cmd_set``
    (every command sent, the untimed window fill included) and ``TPS``: get plus set commands over the
    timed run, so the timed gets are ``TPS * cmd_get / (cmd_get + cmd_set)``.
    """
    binary = shutil.which("memcaslap")
    if binary is None:
        return "Server-side ceiling: not measured (memcaslap, from the libmemcached-tools package, is not installed)."
    seconds = CEILING_SECONDS[quick]
    rates: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-memcaslap-") as tmp:
        for op, proportions in (("set", "0 1\n1 0\n"), ("get", "0 0\n1 1\n")):
            config = Path(tmp) / f"{op}.cnf"
            config.write_text(f"key\n24 24 1\nvalue\n{len(VALUE)} {len(VALUE)} 1\ncmd\n{proportions}")
            argv = [binary, "-s", f"{host}:{port}", "-T", "2", "-c", "64", "-w", "1k", "-t", f"{seconds}s"]
            out = await asyncio.to_thread(_run, [*argv, "-F", str(config)], seconds)
            counts = {name: int(n) for name, n in re.findall(r"^(cmd_get|cmd_set|get_misses): (\d+)$", out, re.M)}
            tps = re.search(r"^Run time: [\d.]+s Ops: \d+ TPS: (\d+)", out, re.M)
            if tps is None or len(counts) != 3 or counts["get_misses"]:
                raise RuntimeError(f"memcaslap {op}: unexpected output: {out[-300:]!r}")
            rates[op] = int(tps.group(1)) * counts[f"cmd_{op}"] / (counts["cmd_get"] + counts["cmd_set"])
    return (
        f"Server-side ceiling (memcaslap -T 2 -c 64, {len(VALUE)}-byte values, one command at a time per connection,"
        f" same server, this run): get {rates['get']:,.0f}/s, set {rates['set']:,.0f}/s."
    )


#: The scratch schema of the pgbench ceiling (dropped afterwards) and the key each pgbench client reads and writes.
PGBENCH_SCHEMA = "bench_pgbench"
PGBENCH_KEY = "('bench/c' || CAST(:client_id AS text))"


async def pgbench(url: str, pool: asyncpg.Pool, unlogged: bool, quick: bool) -> str:
    """The ``pgbench`` ceiling of the PostgreSQL server behind ``url``, as a table note.

    The store's ``get`` and ``set`` statements (``sessionkv_postgres.statements``) on a table of its layout in a
    scratch schema, each client on a key of its own, prepared; one statement per transaction, so TPS is
    statements per second.
    """
    binary = shutil.which("pgbench")
    if binary is None:
        return "Server-side ceiling: not measured (pgbench, from the postgresql-client package, is not installed)."
    seconds = CEILING_SECONDS[quick]
    where = urlsplit(url)
    sql = Statements.of(PGBENCH_SCHEMA, "sessionkv")
    value = "'\\x" + VALUE.hex() + "'::bytea"
    scripts = {
        "get": sql.get.replace("$1", PGBENCH_KEY),
        "set": sql.set.replace("$1", PGBENCH_KEY).replace("$2", value).replace("$3", str(int(TTL))),
    }
    argv = [binary, "-n", "-c", "64", "-j", "2", "-M", "prepared", "-T", str(seconds)]
    argv += ["-h", where.hostname or "127.0.0.1", "-p", str(where.port or 5432), "-U", where.username or "postgres"]
    env = {**os.environ, **({"PGPASSWORD": unquote(where.password)} if where.password else {})}
    database = unquote(where.path.lstrip("/")) or where.username or "postgres"
    await pool.execute(f'DROP SCHEMA IF EXISTS "{PGBENCH_SCHEMA}" CASCADE; CREATE SCHEMA "{PGBENCH_SCHEMA}"')
    rates: dict[str, float] = {}
    try:
        for statement in ddl(PGBENCH_SCHEMA, "sessionkv", unlogged=unlogged):
            await pool.execute(statement)
        await pool.execute(
            f"INSERT INTO {quoted(PGBENCH_SCHEMA, 'sessionkv')} (key, value, expires_at)"
            " SELECT 'bench/c' || i, $1, now() + interval '1 hour' FROM generate_series(0, 63) AS i",
            VALUE,
        )
        with tempfile.TemporaryDirectory(prefix="bench-pgbench-") as tmp:
            for op, statement in scripts.items():
                script = Path(tmp) / f"{op}.sql"
                script.write_text(statement + ";\n")
                out = await asyncio.to_thread(_run, [*argv, "-f", str(script), database], seconds, env)
                tps = re.search(r"^tps = ([\d.]+) ", out, re.M)
                failed = re.search(r"^number of failed transactions: (\d+)", out, re.M)
                if tps is None or (failed is not None and int(failed.group(1))):
                    raise RuntimeError(f"pgbench {op}: unexpected output: {out[-300:]!r}")
                rates[op] = float(tps.group(1))
    finally:
        await pool.execute(f'DROP SCHEMA IF EXISTS "{PGBENCH_SCHEMA}" CASCADE')
    return (
        "Server-side ceiling (pgbench -c 64 -j 2 -M prepared, the store's get and set statements on a scratch"
        f" table, one per transaction, same server, this run): get {rates['get']:,.0f}/s, set {rates['set']:,.0f}/s."
    )


async def memcached(context: Context) -> None:
    table = throughput_table(
        f"Throughput, memcached: MemcachedStore vs bare aiomcache (pool of {POOL} each, same server)",
        LEVEL_NOTE,
        "Ours coalesces the calls of one loop tick into one pipeline per connection (sets with their index appends).",
    )
    context.report.tables.append(table)
    url = context.servers.memcached()
    host = StoreURL.parse(url).host
    assert host is not None

    async def measure() -> None:
        client = aiomcache.Client(host.host, host.port or 11211, pool_size=POOL)
        try:
            async with MemcachedStore(url, namespace="bench-tp-ours:", pool_size=POOL) as store:

                async def bare_get(index: int) -> object:
                    return await client.get(b"bench-tp-bare:" + task_key(index).encode())

                async def bare_set(index: int) -> object:
                    return await client.set(b"bench-tp-bare:" + task_key(index).encode(), VALUE, int(TTL))

                await _compare(
                    context, table, store, bare_get, bare_set, "throughput: memcached vs bare aiomcache", "aiomcache"
                )
        finally:
            await client.close()
        table.notes.append(await memcaslap(host.host, host.port or 11211, context.profile.quick))

    await guarded(context, "memcached throughput", table, measure)


async def etcd(context: Context) -> None:
    table = throughput_table(
        "Throughput, etcd: EtcdStore vs bare aiohttp to the JSON gateway (same server, same connection limit)",
        LEVEL_NOTE,
        "Bare set: one /kv/put carrying a lease of the same ttl, granted once before the blocks.",
        ETCD_CEILING,
    )
    context.report.tables.append(table)
    url = context.servers.etcd()

    async def measure() -> None:
        async with EtcdStore(url, namespace="bench-tp-ours:") as store:
            endpoint = store.gateway.endpoint
            limit = store.gateway.config.max_connections
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=limit)) as session:

                async def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
                    async with session.post(endpoint + "/v3" + path, json=body) as response:
                        data: dict[str, Any] = await response.json(content_type=None)
                        if response.status >= 400 or "error" in data:
                            raise RuntimeError(f"etcd gateway {path}: {data}")
                        return data

                lease = int((await post("/lease/grant", {"TTL": int(TTL) + 2}))["ID"])

                def raw(index: int) -> str:
                    return base64.b64encode(b"bench-tp-bare:" + task_key(index).encode()).decode()

                encoded = base64.b64encode(VALUE).decode()

                async def bare_get(index: int) -> object:
                    return await post("/kv/range", {"key": raw(index)})

                async def bare_set(index: int) -> object:
                    return await post("/kv/put", {"key": raw(index), "value": encoded, "lease": lease})

                await _compare(
                    context, table, store, bare_get, bare_set, "throughput: etcd vs bare aiohttp", "aiohttp gateway"
                )

    await guarded(context, "etcd throughput", table, measure)


async def dynamodb(context: Context) -> None:
    table = throughput_table(
        "Throughput, DynamoDB (moto server): DynamoDBStore vs bare aioboto3 (the store's client and table)",
        LEVEL_NOTE,
        MOTO_CEILING,
    )
    context.report.tables.append(table)

    async def measure() -> None:
        url = context.servers.dynamodb("sessionkv-bench")
        async with DynamoDBStore(url, namespace="bench-tp-ours:") as store:
            client, name, ns = store.client, store.table, "bench-tp-bare:"

            async def bare_get(index: int) -> object:
                key = primary_key(ns, task_key(index))
                return await client.get_item(TableName=name, Key=key, ConsistentRead=True)

            async def bare_set(index: int) -> object:
                item = build_item(ns, task_key(index), VALUE, time.time() + TTL)
                return await client.put_item(TableName=name, Item=item)

            await _compare(
                context, table, store, bare_get, bare_set, "throughput: DynamoDB vs bare aioboto3", "aioboto3"
            )

    await guarded(context, "dynamodb throughput", table, measure)


async def postgres(context: Context) -> None:
    table = throughput_table(
        "Throughput, PostgreSQL: PostgresStore vs a bare asyncpg pool (same size and settings, same statements)",
        LEVEL_NOTE,
        "The server runs with fsync=off and synchronous_commit=off.",
    )
    context.report.tables.append(table)
    url = context.servers.postgresql()

    async def measure() -> None:
        async with PostgresStore(url, namespace="bench-tp-ours:") as store:
            pool = await bare_pool(store, reset=False)
            try:
                bare = BarePostgres(pool, Statements.of(store.config.schema, store.config.table), "bench-tp-bare:")

                async def bare_get(index: int) -> object:
                    return await bare.get(task_key(index))

                async def bare_set(index: int) -> object:
                    return await bare.set(task_key(index), VALUE, TTL)

                await _compare(
                    context, table, store, bare_get, bare_set, "throughput: PostgreSQL vs bare asyncpg", "asyncpg"
                )
                table.notes.append(await pgbench(url, pool, store.config.unlogged, context.profile.quick))
            finally:
                await pool.close()

    await guarded(context, "postgres throughput", table, measure)


async def run(context: Context) -> None:
    for backend in (memcached, etcd, dynamodb, postgres):
        await backend(context)
