"""What a server holds for one sessionkv namespace, counted on the server itself (no pytest: bench/ uses it too).

``footprint(url, namespace)`` dispatches on the URL scheme (``COUNTERS``) and returns named counts whose
``total`` is what the namespace costs the server:

- Redis and Redis Cluster: keys holding the namespace (data keys and directory index sets), found by SCAN on
  every primary; ``dbsize`` is the sum of ``DBSIZE`` over the primaries.
- memcached: an LRU crawl first (``lru_crawler crawl all`` reclaims expired items; we wait until it is done),
  then ``lru_crawler metadump all`` counted by the namespace's key prefix; ``curr_items`` as the server says.
- etcd: keys in the namespace's range, and ``leases``: leases are not namespaced, so those holding a key of the
  namespace or no key at all (an empty lease is a leak whoever left it; leases of other namespaces' keys are not).
- DynamoDB: the table's items (a Scan). ``expired_deleted`` is how many items the TTL pass found expired and
  deleted first: DynamoDB's own TTL process does this on AWS; moto never does, so we do what it would.
- memory://: entries plus directories of the namespace's dict.
- PostgreSQL: the namespace's rows of sessionkv's table, expired ones not yet swept included.

A new backend adds one ``async def count(url, namespace) -> dict[str, int]`` to ``COUNTERS``.
"""

from __future__ import annotations

import asyncio
import base64
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from typing import Any

from sessionkv import StoreURL

Counts = dict[str, int]


async def redis_counts(url: str, namespace: str) -> Counts:
    """Keys of ``namespace`` on every primary (data keys and index sets), and the primaries' DBSIZE."""
    from redis.asyncio import Redis, RedisCluster

    parsed = StoreURL.parse(url)
    pattern = "*" + "".join("\\" + c if c in "*?[]\\" else c for c in namespace) + "*"
    clients: list[Redis] = []
    cluster: RedisCluster | None = None
    if parsed.scheme == "redis+cluster":
        host = parsed.hosts[0]
        cluster = RedisCluster(host=host.host, port=host.port or 6379)
        await cluster.initialize()
        clients = [Redis(host=node.host, port=int(node.port)) for node in cluster.get_primaries()]
    else:
        clients = [Redis.from_url(url.split("?")[0])]
    try:
        total = dbsize = 0
        for client in clients:
            dbsize += int(await client.dbsize())
            seen: set[bytes] = set()
            async for key in client.scan_iter(match=pattern, count=1000):
                seen.add(key)
            total += len(seen)
        return {"total": total, "dbsize": dbsize}
    finally:
        if cluster is not None:
            await cluster.aclose()
        for client in clients:
            await client.aclose()


async def _memcached_command(host: str, port: int, command: str, end: tuple[bytes, ...]) -> list[bytes]:
    """Send one text command; the reply's lines up to (and including) a line in ``end``."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(command.encode() + b"\r\n")
        await writer.drain()
        lines: list[bytes] = []
        while True:
            line = (await reader.readline()).rstrip(b"\r\n")
            lines.append(line)
            if line in end or line.startswith((b"ERROR", b"CLIENT_ERROR", b"SERVER_ERROR")):
                return lines
    finally:
        writer.close()
        await writer.wait_closed()


async def _memcached_stats(host: str, port: int) -> dict[str, str]:
    lines = await _memcached_command(host, port, "stats", (b"END",))
    return {parts[1]: parts[2] for parts in (line.decode().split() for line in lines) if len(parts) == 3}


async def memcached_counts(url: str, namespace: str) -> Counts:
    """Items of ``namespace`` after an LRU crawl has reclaimed the expired ones, and the server's curr_items."""
    from sessionkv_memcached.keyspace import server_namespace

    host = StoreURL.parse(url).host
    assert host is not None
    address, port = host.host, host.port or 11211
    stats = await _memcached_stats(address, port)
    done = int(stats.get("lru_crawler_starts", "0"))
    reply = await _memcached_command(address, port, "lru_crawler crawl all", (b"OK",))
    if reply[-1] != b"OK":
        raise RuntimeError(f"memcached refused lru_crawler crawl all: {reply[-1]!r}")
    for _ in range(2000):  # the crawl is asynchronous: wait until this one has started and finished
        stats = await _memcached_stats(address, port)
        if int(stats.get("lru_crawler_starts", "0")) > done and stats.get("lru_crawler_running") == "0":
            break
        await asyncio.sleep(0.01)
    prefix = urllib.parse.quote(server_namespace(namespace), safe="")
    lines = await _memcached_command(address, port, "lru_crawler metadump all", (b"END",))
    # metadump's exp is on memcached's own clock (its start time plus its monotonic uptime), which drifts from
    # this machine's wall clock when that is stepped after memcached started (a CI run once counted 92 of 3,000
    # live items against time.time())
    now = float((await _memcached_stats(address, port)).get("time", time.time()))
    total = 0
    for line in lines:
        fields = dict(part.split("=", 1) for part in line.decode().split() if "=" in part)
        key, exp = fields.get("key", ""), int(fields.get("exp", "-1"))
        if key.startswith(prefix) and (exp == -1 or exp > now):  # memcached: expired once exp <= its time
            total += 1
    return {"total": total, "curr_items": int(stats["curr_items"])}


async def _etcd_post(session: Any, base: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    async with session.post(base + path, json=body) as reply:
        reply.raise_for_status()
        data: dict[str, Any] = await reply.json(content_type=None)
        return data


async def etcd_counts(url: str, namespace: str) -> Counts:
    """Keys in ``namespace``'s range and leases on the server (one v3 gateway request each)."""
    import aiohttp

    from sessionkv_etcd.wire import b64, prefix_range_end

    host = StoreURL.parse(url).hosts[0]
    base = f"http://{host.host}:{host.port or 2379}/v3"
    start = namespace.encode()
    async with aiohttp.ClientSession() as session:
        body = {"key": b64(start), "range_end": b64(prefix_range_end(start)), "count_only": True}
        keys = await _etcd_post(session, base, "/kv/range", body)
        listed = (await _etcd_post(session, base, "/lease/leases", {})).get("leases") or []
        leases = 0
        for lease in listed:
            reply = await _etcd_post(session, base, "/kv/lease/timetolive", {"ID": lease["ID"], "keys": True})
            held = [base64.b64decode(key) for key in reply.get("keys") or []]
            if int(reply.get("TTL", -1)) > 0 and (not held or any(key.startswith(start) for key in held)):
                leases += 1
    return {"total": int(keys.get("count", 0)) + leases, "keys": int(keys.get("count", 0)), "leases": leases}


async def dynamodb_counts(url: str, namespace: str) -> Counts:
    """Items left in the table once DynamoDB's TTL pass (emulated: moto has none) deleted the expired ones."""
    from sessionkv import open_store
    from sessionkv_dynamodb.layout import LAYOUT_PK, PK, SK, TTL
    from sessionkv_dynamodb.store import DynamoDBStore

    async with open_store(url, namespace=namespace) as store:
        assert isinstance(store, DynamoDBStore)
        client, table = store.client, store.table
        now = time.time()
        items: list[dict[str, Any]] = []
        pages = client.get_paginator("scan").paginate(
            TableName=table, ProjectionExpression=f"{PK}, {SK}, #t", ExpressionAttributeNames={"#t": TTL}
        )
        async for page in pages:
            items += page.get("Items", [])
        items = [item for item in items if item[PK]["S"] != LAYOUT_PK]  # the table's layout item: no key's
        expired = [item for item in items if TTL not in item or float(item[TTL]["N"]) < now]
        for item in expired:
            await client.delete_item(TableName=table, Key={PK: item[PK], SK: item[SK]})
    return {"total": len(items) - len(expired), "expired_deleted": len(expired)}


async def memory_counts(url: str, namespace: str) -> Counts:
    """Entries and directories of ``namespace`` in the process's ``memory://NAME`` data."""
    from sessionkv_memory.store import shared_data

    name = StoreURL.parse(url).host
    data = shared_data(name.host if name is not None else "").space(namespace)
    entries, directories = len(data.items), len(data._dirs)
    return {"total": entries + directories, "entries": entries, "directories": directories}


async def postgres_connection(url: str) -> Any:
    """An asyncpg connection to the database of a ``postgresql://`` store URL (its password passed apart)."""
    import asyncpg

    from sessionkv_postgres.config import PostgresConfig

    config = PostgresConfig.from_url(StoreURL.parse(url), {})
    return await asyncpg.connect(config.dsn, password=config.password)


async def postgres_counts(url: str, namespace: str) -> Counts:
    """Rows of ``namespace`` in sessionkv's table, expired ones included (``total``), and the table's ``rows``."""
    from sessionkv_postgres.config import PostgresConfig

    config = PostgresConfig.from_url(StoreURL.parse(url), {})  # the table; ``namespace`` may be a prefix of several
    conn = await postgres_connection(url)
    try:
        table = config.qualified_table
        if await conn.fetchval("SELECT to_regclass($1)", table) is None:  # no table yet: no rows
            return {"total": 0, "rows": 0}
        total = await conn.fetchval(f"SELECT count(*) FROM {table} WHERE left(key, length($1)) = $1", namespace)
        rows = await conn.fetchval(f"SELECT count(*) FROM {table}")
        return {"total": int(total), "rows": int(rows)}
    finally:
        await conn.close()


COUNTERS: dict[str, Callable[[str, str], Awaitable[Counts]]] = {
    "redis": redis_counts,
    "redis+cluster": redis_counts,
    "memcached": memcached_counts,
    "etcd": etcd_counts,
    "dynamodb": dynamodb_counts,
    "memory": memory_counts,
    "postgresql": postgres_counts,
    "postgres": postgres_counts,
}


async def footprint(url: str, namespace: str) -> Counts:
    """What the server behind ``url`` holds for ``namespace`` (``total`` first; see the module docstring)."""
    scheme = StoreURL.parse(url).scheme
    return await COUNTERS[scheme](url, namespace)


# -- the soak workload: churn that never lists, a few keys that stay -------------------------------------

#: Keys written with a long ttl: what must stay listed, exactly, through the churn.
LIVE_KEYS = 50
LIVE_TTL = 600.0


def churn_items(start: int, count: int, ttl: float) -> list[tuple[str, bytes, float]]:
    """``count`` short-lived keys from number ``start``: ``conv/<n>/state`` and ``flat/<n>`` in turn, one
    directory per conversation, never listed; and every tenth one in the shared directory ``hot/``."""
    items: list[tuple[str, bytes, float]] = []
    for n in range(start, start + count):
        key = f"conv/{n}/state" if n % 2 == 0 else f"flat/{n}"
        items.append((key, b"x" * 16, ttl))
        if n % 10 == 0:
            items.append((f"hot/{n}", b"h", ttl))
    return items


def live_items() -> list[tuple[str, bytes, float]]:
    """The keys that outlive the churn: in ``hot/`` (which sees every expired hot key) and their own directories."""
    return [(f"hot/live-{n}" if n % 2 else f"live/{n}/state", b"live", LIVE_TTL) for n in range(LIVE_KEYS)]
