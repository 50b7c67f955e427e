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

The server-side ceiling: memtier_benchmark and mc-crusher are not packaged in Debian or on PyPI,
so no backend has a load generator of its own here (said in the table notes).
"""

from __future__ import annotations

import base64
import time
from typing import Any

import aiohttp
import aiomcache

from sessionkv import StoreURL
from sessionkv_dynamodb.layout import build_item, primary_key
from sessionkv_dynamodb.store import DynamoDBStore
from sessionkv_etcd.store import EtcdStore
from sessionkv_memcached.store import MemcachedStore
from sessionkv_postgres.statements import Statements
from sessionkv_postgres.store import PostgresStore

from ..concurrency import TaskCall, task_key, throughput_rows, throughput_table
from ..operations import TTL, VALUE
from ..report import Table
from ..suite import Context, guarded
from .postgres import BarePostgres, bare_pool

POOL = 4
CEILING = (
    "Server-side ceiling: not measured (memtier_benchmark and mc-crusher are neither Debian packages nor on PyPI;"
    " no other backend's server ships a load generator)."
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


async def memcached(context: Context) -> None:
    table = throughput_table(
        f"Throughput, memcached: MemcachedStore vs bare aiomcache (pool of {POOL} each, same server)",
        LEVEL_NOTE,
        "Ours coalesces the calls of one loop tick into one pipeline per connection (sets with their index appends).",
        CEILING,
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

    await guarded(context, "memcached throughput", table, measure)


async def etcd(context: Context) -> None:
    table = throughput_table(
        "Throughput, etcd: EtcdStore vs bare aiohttp to the JSON gateway (same server, same connection limit)",
        LEVEL_NOTE,
        "Bare set: one /kv/put carrying a lease of the same ttl, granted once before the blocks.",
        CEILING,
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
        "moto answers from one Python process, one request at a time: the server is the ceiling here.",
        CEILING,
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
        CEILING,
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
            finally:
                await pool.close()

    await guarded(context, "postgres throughput", table, measure)


async def run(context: Context) -> None:
    for backend in (memcached, etcd, dynamodb, postgres):
        await backend(context)
