"""Throughput on Redis and Redis Cluster: ``get``, ``set`` and the registry's ``get_for_call`` at 1, 16 and 64 tasks.

Measured with ``bench.concurrency`` (alternating blocks, median of the per-pair ratios), each task
on a key (or call) of its own, 100-byte values, ttl 60 s, same server(s) for every side:

- ours: ``RedisStore`` (concurrent calls coalesced into pipelines: one server, or per cluster node;
  ``sessionkv_redis.pipelining``); ``get_for_call`` through a ``SessionRegistry`` on it (``items`` of
  the call's directory, one script, then ``MGET`` of the node record).
- bare: ``redis.asyncio`` (``Redis``/``RedisCluster``, default unbounded pool): ``GET``; ``SET PX``
  (ours runs the index script instead); for ``get_for_call`` the commands a registry on a plain
  client needs (the call directory's listing script, ``MGET`` of its session records, ``MGET`` of
  their node record), without decoding them.
- aiocache's ``RedisCache`` (one server only: it has no cluster client), ``get``/``set``.

The server-side ceiling is ``redis-benchmark`` (redis-tools) against the same server in the same
run: ``-c 64`` one command per request, and ``-P 16`` pipelined, ``--cluster`` for the cluster.
"""

from __future__ import annotations

import asyncio
import csv
import io
import shutil
import subprocess
from typing import Any
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from redis.asyncio import RedisCluster

from sessionkv import SessionRegistry
from sessionkv.registry.keys import call_prefix, node_key
from sessionkv_redis.index import INDEX_PREFIX, LIST_LUA, PAGE
from sessionkv_redis.store import RedisStore

from ..concurrency import TaskCall, task_key, throughput_rows, throughput_table
from ..operations import TTL, VALUE
from ..report import Table
from ..suite import Context, guarded
from .throughput import LEVEL_NOTE

#: Sessions per call in the ``get_for_call`` rows, and the calls (one per task).
SESSIONS = 2
CALLS = 64
#: Requests per redis-benchmark test, by profile (quick: CI).
BENCHMARK_REQUESTS = {True: 20_000, False: 200_000}
NAMESPACE = "bench-rtp-ours:"
BARE = "bench-rtp-bare:"


def call_id(index: int) -> str:
    return f"bench-call-{index}"


async def redis_benchmark(url: str, quick: bool, *, cluster: bool) -> str:
    """The ``redis-benchmark`` ceiling of the server behind ``url``, as a table note."""
    binary = shutil.which("redis-benchmark")
    if binary is None:
        return "Server-side ceiling: not measured (redis-benchmark, from the redis-tools package, is not installed)."
    first = urlsplit(url.replace("redis+cluster://", "redis://").split(",")[0])
    argv = [binary, "-h", first.hostname or "127.0.0.1", "-p", str(first.port or 6379), "-c", "64", "-d", "100"]
    argv += ["-n", str(BENCHMARK_REQUESTS[quick]), "-t", "get,set", "--csv", *(["--cluster"] if cluster else [])]
    figures = []
    for pipeline in (1, 16):
        done = await asyncio.to_thread(
            subprocess.run, [*argv, "-P", str(pipeline)], capture_output=True, text=True, timeout=120, check=True
        )
        rows = csv.reader(io.StringIO(done.stdout))  # --cluster prints the primaries first
        rates = {row[0]: float(row[1]) for row in rows if len(row) > 1 and row[0] in ("SET", "GET")}
        figures.append(f"-P {pipeline}: SET {rates['SET']:,.0f}/s, GET {rates['GET']:,.0f}/s")
    return (
        f"Server-side ceiling (redis-benchmark -c 64 -d 100{' --cluster' if cluster else ''}, same server, this run): "
        + "; ".join(figures)
        + "."
    )


async def bare_get_for_call(client: Any, ns: str, cluster: bool) -> TaskCall:
    """``get_for_call``'s commands on a bare client: list the call's directory, MGET its records and their node."""
    script = client.register_script(LIST_LUA)
    node = ns + node_key("bench-node")

    async def get_for_call(index: int) -> object:
        directory = INDEX_PREFIX + ns + call_prefix(call_id(index))
        members = (await script(keys=[directory], args=[0, PAGE]))[1:]
        keys = [ns + member.decode() for member in members]
        records = await (client.mget_nonatomic(keys) if cluster else client.mget(keys))
        nodes = await client.mget([node])
        return records, nodes

    return get_for_call


async def measure(context: Context, table: Table, url: str, *, cluster: bool) -> None:
    where = urlsplit(url.replace("redis+cluster://", "redis://").split(",")[0])
    host, port = where.hostname or "127.0.0.1", where.port or 6379
    client: Any
    if cluster:
        client = RedisCluster(host=host, port=port)
        await client.initialize()
    else:
        client = aioredis.Redis(host=host, port=port)
    name = "Redis Cluster" if cluster else "Redis"
    group = f"throughput: {name} vs bare redis.asyncio"
    try:
        async with RedisStore(url, namespace=NAMESPACE) as store:

            async def ours_get(index: int) -> object:
                return await store.get(task_key(index))

            async def ours_set(index: int) -> object:
                return await store.set(task_key(index), VALUE, TTL)

            async def bare_get(index: int) -> object:
                return await client.get(BARE + task_key(index))

            async def bare_set(index: int) -> object:
                return await client.set(BARE + task_key(index), VALUE, px=int(TTL * 1000))

            for index in range(CALLS):
                await ours_set(index)
                await bare_set(index)
            ops: list[tuple[str, TaskCall, TaskCall]] = [("get", ours_get, bare_get), ("set", ours_set, bare_set)]
            async with SessionRegistry(store, node_id="bench-node", ttl=TTL) as registry:
                for index in range(CALLS):
                    for session in range(SESSIONS):
                        await registry.register(call_id(index), f"s{session}")

                async def ours_get_for_call(index: int) -> object:
                    return await registry.get_for_call(call_id(index))

                bare_call = await bare_get_for_call(client, NAMESPACE, cluster)
                if len(await ours_get_for_call(0)) != SESSIONS:
                    raise RuntimeError("get_for_call did not find the registered sessions")
                ops.append(("get_for_call", ours_get_for_call, bare_call))
                await throughput_rows(context.report, context.profile, table, group, ops, "redis.asyncio")
            if not cluster:
                cache = aiocache_cache(host, port)
                try:

                    async def cache_get(index: int) -> object:
                        return await cache.get(task_key(index))

                    async def cache_set(index: int) -> object:
                        return await cache.set(task_key(index), VALUE, ttl=TTL)

                    for index in range(CALLS):
                        await cache_set(index)
                    peers: list[tuple[str, TaskCall, TaskCall]] = [
                        ("get", ours_get, cache_get),
                        ("set", ours_set, cache_set),
                    ]
                    group = f"throughput: {name} vs aiocache"
                    await throughput_rows(context.report, context.profile, table, group, peers, "aiocache RedisCache")
                finally:
                    await cache.close()
    finally:
        await client.aclose()
    table.notes.append(await redis_benchmark(url, context.profile.quick, cluster=cluster))


def aiocache_cache(host: str, port: int) -> Any:
    """aiocache's ``RedisCache`` (bytes in and out) on the same server."""
    from aiocache import RedisCache
    from aiocache.serializers import NullSerializer

    serializer = NullSerializer(encoding=None)
    return RedisCache(endpoint=host, port=port, namespace="bench-rtp-aiocache:", serializer=serializer)


async def run(context: Context) -> None:
    for cluster in (False, True):
        name = "Redis Cluster (3 primaries)" if cluster else "Redis"
        table = throughput_table(
            f"Throughput, {name}: RedisStore vs bare redis.asyncio"
            + ("" if cluster else " and aiocache RedisCache")
            + " (same server)",
            LEVEL_NOTE,
            "Ours coalesces concurrent calls into pipelines (per node in a cluster); bare set is SET PX, ours runs the"
            " index script. get_for_call: a SessionRegistry (items of the call's directory in one script, then MGET"
            " of the node record) against the three commands a plain client needs (list the directory, MGET the"
            " records, MGET the node record)"
            f" ({SESSIONS} sessions per call).",
        )
        context.report.tables.append(table)
        url = context.servers.redis_cluster() if cluster else context.servers.redis()

        async def action(url: str = url, table: Table = table, cluster: bool = cluster) -> None:
            await measure(context, table, url, cluster=cluster)

        await guarded(context, f"{name} throughput", table, action)
