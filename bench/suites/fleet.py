"""Fleet simulation: many registry nodes in several processes against one server, ours vs the published loop.

Each process (bench/fleet_worker.py) runs ``nodes / PROCESSES`` registries with ``sessions`` each; all processes
register, then run the same number of heartbeat rounds at once. The server's own counters give the commands it
served for those rounds (Redis Cluster: ``total_commands_processed`` summed over the primaries; memcached: its get,
set, touch, delete, incr/decr and meta command counters; etcd: ``grpc_server_handled_total``), and the loops count
the keys they wrote. Reported per round and, for a 5 s heartbeat interval (the published default), per second
per 1,000 sessions; the ratio is ours / the published loop in the same run. Counts, not timings.
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


@dataclass(frozen=True)
class Target:
    name: str
    url: Callable[[Context], str]
    commands: Callable[[str], Awaitable[int]]


TARGETS = [
    Target("redis cluster", lambda c: c.servers.redis_cluster(), redis_commands),
    Target("memcached", lambda c: c.servers.memcached(), memcached_commands),
    Target("etcd", lambda c: c.servers.etcd(), etcd_commands),
]


async def simulate(
    url: str, fleet: Fleet, loop: str, rounds: int, commands: Callable[[str], Awaitable[int]]
) -> tuple[int, int]:
    """Server commands and keys written for ``rounds`` heartbeat rounds of the whole fleet running ``loop``."""
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
        before = await commands(url)
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write(b"go\n")
            await proc.stdin.drain()
        written = 0
        for proc in procs:
            assert proc.stdout is not None
            written += int(json.loads(await proc.stdout.readline())["keys_written"])
        served = await commands(url) - before - 1  # less our own probe
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
    fleet = Fleet(2, 20, 50) if context.profile.quick else Fleet(4, 200, 500)
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
            "every record each round."
        ],
    )
    context.report.tables.append(table)
    for target in TARGETS:

        async def one(target: Target = target) -> None:
            url = target.url(context)
            figures = {
                loop: await simulate(url, fleet, loop, rounds, target.commands) for loop in ("ours", "published")
            }
            for loop, (served, written) in figures.items():
                per_round_commands, per_round_keys = served / rounds, written / rounds
                scale = 1000 / total / INTERVAL
                ratio = served / figures["published"][0] if figures["published"][0] else float("nan")
                table.rows.append(
                    [
                        target.name,
                        loop,
                        f"{per_round_commands:,.0f}",
                        f"{per_round_keys:,.0f}",
                        f"{per_round_commands * scale:,.1f}",
                        f"{per_round_keys * scale:,.1f}",
                        f"**{ratio:.2g}**" if loop == "ours" else "1",
                    ]
                )

        await guarded(context, f"fleet {target.name}", table, one)
