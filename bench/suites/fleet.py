"""Fleet simulation: many registry nodes in several processes against one server, ours vs the published loop.

Each process (bench/fleet_worker.py) runs ``nodes / PROCESSES`` registries with ``sessions`` each; all processes
register, then run the same number of heartbeat rounds at once. The server's own counters give the commands it
served for those rounds (Redis Cluster: ``total_commands_processed`` summed over the primaries; memcached: its get,
set, touch, delete, incr/decr and meta command counters; etcd: ``grpc_server_handled_total``; PostgreSQL: the
transactions of the fleet's own database in ``pg_stat_database``, ``xact_commit + xact_rollback``, one per
statement in autocommit, each worker connection made to publish its counts before and after the rounds with
``pg_stat_force_next_flush()``), and the loops count the keys they wrote. DynamoDB on moto has no server counters:
there the workers count the HTTP requests their clients sent (a botocore ``before-send`` hook, retries included),
on a smaller fleet since moto serves one request at a time. Reported per round and, for a 5 s heartbeat interval
(the published default), per second per 1,000 sessions; the ratio is ours / the published loop in the same run.
Counts, not timings.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from sessionkv import StoreURL
from sessionkv.registry.registry import ROLLING_SLICES

from ..report import Table
from ..suite import Context, guarded

INTERVAL = 5.0
ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Fleet:
    processes: int
    nodes: int
    sessions: int


async def redis_commands(url: str) -> int:
    """Commands every primary has served (INFO stats), Redis or Redis Cluster."""
    from redis.asyncio import Redis, RedisCluster

    parsed = StoreURL.parse(url)
    host = parsed.hosts[0]
    if parsed.scheme == "redis+cluster":
        cluster = RedisCluster(host=host.host, port=host.port or 6379)
        await cluster.initialize()
        try:
            clients = [Redis(host=node.host, port=int(node.port)) for node in cluster.get_primaries()]
        finally:
            await cluster.aclose()
    else:
        clients = [Redis.from_url(url.split("?")[0])]
    total = 0
    for client in clients:
        async with client:
            total += int((await client.info("stats"))["total_commands_processed"])
    return total


MEMCACHED_COUNTERS = ("cmd_get", "cmd_set", "cmd_touch", "cmd_meta", "delete_hits", "delete_misses")
MEMCACHED_COUNTERS += ("incr_hits", "incr_misses", "decr_hits", "decr_misses")


async def memcached_commands(url: str) -> int:
    host = StoreURL.parse(url).hosts[0]
    reader, writer = await asyncio.open_connection(host.host, host.port or 11211)
    try:
        writer.write(b"stats\r\n")
        stats: dict[str, str] = {}
        while (line := (await reader.readline()).decode().strip()) != "END":
            parts = line.split()
            if len(parts) == 3:
                stats[parts[1]] = parts[2]
    finally:
        writer.close()
        await writer.wait_closed()
    return sum(int(stats.get(name, "0")) for name in MEMCACHED_COUNTERS)


async def etcd_commands(url: str) -> int:
    import aiohttp

    host = StoreURL.parse(url).hosts[0]
    async with aiohttp.ClientSession() as session, session.get(f"http://{host.host}:{host.port or 2379}/metrics") as r:
        text = await r.text()
    return int(
        sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith("grpc_server_handled_total"))
    )


#: The fleet's own PostgreSQL database: its statistics hold the fleet's transactions only (the counting
#: connection uses the ``postgres`` database), and the pool size is fixed so that every connection is flushed.
FLEET_DATABASE = "sessionkv_fleet"
POSTGRES_POOL = 10


def _with_database(url: str, database: str, query: str = "") -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}", query=query))


async def postgres_fleet_url(url: str) -> str:
    """The store URL of ``FLEET_DATABASE`` (created on first use) on the server of ``url``, with a fixed pool."""
    import asyncpg

    connection = await asyncpg.connect(_with_database(url, "postgres"))
    try:
        if not await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", FLEET_DATABASE):
            await connection.execute(f'CREATE DATABASE "{FLEET_DATABASE}"')
    finally:
        await connection.close()
    pool = f"pool_min_size={POSTGRES_POOL}&pool_max_size={POSTGRES_POOL}"
    query = urlsplit(url).query
    return _with_database(url, FLEET_DATABASE, f"{query}&{pool}" if query else pool)


async def postgres_transactions(url: str) -> int:
    """Transactions the server counted in the database of ``url`` (committed and rolled back), read from the
    ``postgres`` database so the reading adds nothing. A fresh connection reads fresh statistics (the snapshot
    is only cached within one transaction); workers flush theirs before (fleet_worker.py)."""
    import asyncpg

    connection = await asyncpg.connect(_with_database(url, "postgres"))
    try:
        value = await connection.fetchval(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = $1", urlsplit(url).path[1:]
        )
    finally:
        await connection.close()
    return int(value)


async def _same(url: str) -> str:
    return url


@dataclass(frozen=True)
class Target:
    name: str
    url: Callable[[Context], str]
    #: The server's count of what it served, or ``None``: the workers count the requests they sent.
    commands: Callable[[str], Awaitable[int]] | None
    #: What one reading of ``commands`` adds to the server's own count.
    probe: int = 1
    prepare: Callable[[str], Awaitable[str]] = _same
    #: A fleet of its own (quick, full), named in the table; ``None``: the suite's fleet.
    fleets: tuple[Fleet, Fleet] | None = None


TARGETS = [
    Target("redis cluster", lambda c: c.servers.redis_cluster(), redis_commands),
    Target("memcached", lambda c: c.servers.memcached(), memcached_commands),
    Target("etcd", lambda c: c.servers.etcd(), etcd_commands),
    Target("postgresql", lambda c: c.servers.postgresql(), postgres_transactions, 0, postgres_fleet_url),
    Target(
        "dynamodb (moto)",
        lambda c: c.servers.dynamodb("sessionkv-bench-fleet"),
        None,
        fleets=(Fleet(2, 4, 10), Fleet(2, 10, 50)),
    ),
]


async def simulate(url: str, fleet: Fleet, loop: str, rounds: int, target: Target) -> tuple[int, int]:
    """Server commands (or requests sent) and keys written for ``rounds`` heartbeat rounds of the whole fleet
    running ``loop``."""
    commands = target.commands
    namespace = f"bench-fleet-{uuid.uuid4().hex[:8]}:"
    per_process = fleet.nodes // fleet.processes
    argv = [url, namespace, loop, str(per_process), str(fleet.sessions), str(rounds)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.fleet_worker",
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            cwd=ROOT,
            env=env,
        )
        for _ in range(fleet.processes)
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None
            line = await proc.stdout.readline()
            if line.strip() != b"ready":
                raise RuntimeError(f"a fleet worker did not start: {line!r}")
        before = await commands(url) if commands is not None else 0
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write(b"go\n")
            await proc.stdin.drain()
        written = requests = probes = 0
        for proc in procs:
            assert proc.stdout is not None
            report = json.loads(await proc.stdout.readline())
            written += int(report["keys_written"])
            requests += int(report["requests"])
            probes += int(report["probes"])
        if commands is not None:
            served = await commands(url) - before - target.probe - probes  # less our own probes
        else:
            served = requests
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write(b"stop\n")
            await proc.stdin.drain()
        for proc in procs:
            await proc.wait()
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    return served, written


async def run(context: Context) -> None:
    profile = context.profile
    fleet = Fleet(2, 10, 20) if profile.smoke else Fleet(2, 20, 50) if profile.quick else Fleet(4, 200, 500)
    total = fleet.nodes * fleet.sessions
    rounds = ROLLING_SLICES  # one full turn of the rolling refresh
    table = Table(
        f"Fleet: {fleet.nodes} nodes x {fleet.sessions} sessions ({total:,}) in {fleet.processes} processes, "
        f"{rounds} heartbeat rounds",
        [
            "backend",
            "loop",
            "server commands / round",
            "keys written / round",
            "commands/s per 1,000 sessions",
            "keys/s per 1,000 sessions",
            "ours / published (commands)",
        ],
        notes=[
            f"Per second: one round every {INTERVAL:g} s (the published default interval). Counted by the server "
            "(commands) and by the loops (keys written), in the same run; the published loop reads and rewrites "
            "every record each round.",
            "PostgreSQL: commands are the transactions the server counted for the fleet's own database "
            "(`pg_stat_database`: `xact_commit + xact_rollback`; each statement in autocommit is one), its "
            "connections flushed with `pg_stat_force_next_flush()` before and after the rounds (those statements "
            "subtracted); the store's background sweep and autovacuum, if they ran meanwhile, are included.",
            "DynamoDB (moto): moto keeps no count, so commands are the HTTP requests the workers' clients sent "
            "during the rounds (a botocore `before-send` hook: every attempt, retries included), on the smaller "
            "fleet named in its row (moto serves one request at a time).",
        ],
    )
    context.report.tables.append(table)
    for target in TARGETS:

        async def one(target: Target = target) -> None:
            own = target.fleets[0 if context.profile.quick else 1] if target.fleets else fleet
            sessions = own.nodes * own.sessions
            name = target.name if own == fleet else f"{target.name}: {own.nodes} x {own.sessions} ({sessions:,})"
            url = await target.prepare(target.url(context))
            figures = {loop: await simulate(url, own, loop, rounds, target) for loop in ("ours", "published")}
            for loop, (served, written) in figures.items():
                per_round_commands, per_round_keys = served / rounds, written / rounds
                scale = 1000 / sessions / INTERVAL
                ratio = served / figures["published"][0] if figures["published"][0] else float("nan")
                table.rows.append(
                    [
                        name,
                        loop,
                        f"{per_round_commands:,.0f}",
                        f"{per_round_keys:,.0f}",
                        f"{per_round_commands * scale:,.1f}",
                        f"{per_round_keys * scale:,.1f}",
                        f"**{ratio:.2g}**" if loop == "ours" else "1",
                    ]
                )

        await guarded(context, f"fleet {target.name}", table, one)
