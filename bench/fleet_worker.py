"""One process of the fleet simulation (bench/suites/fleet.py): many registry nodes sharing one store object.

``python -m bench.fleet_worker URL NAMESPACE LOOP NODES SESSIONS ROUNDS``: registers ``NODES x SESSIONS``
sessions (four per call), prints ``ready``, waits for a line on stdin, runs ``ROUNDS`` heartbeat rounds of every
node at once, prints the keys its loop wrote as JSON, waits for another line, then stops its nodes (cleanup).
``LOOP`` is ``ours`` (``SessionRegistry.heartbeat``) or ``published`` (the published design's heartbeat: per
session, read the record and write it back if it still exists).

The JSON line also carries ``requests``: on DynamoDB, the HTTP requests this process sent to the server during the
rounds (a botocore ``before-send`` hook on the store's client: one per attempt, retries included), as moto keeps no
count of its own; elsewhere 0. On PostgreSQL every pooled connection runs ``SELECT pg_stat_force_next_flush()``
before ``ready`` and after the rounds, so the server's per-database statistics hold everything this process did
(PostgreSQL 15 publishes a backend's counts lazily, up to about 10 s late); ``probes`` is the number of those
statements sent after the rounds began (one transaction each, for the suite to subtract).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

from sessionkv import SessionKVStore, SessionRegistry, open_store
from sessionkv.registry.keys import session_key
from sessionkv_dynamodb.store import DynamoDBStore
from sessionkv_postgres.store import PostgresStore

TTL = 30.0


async def published_heartbeat(registry: SessionRegistry) -> int:
    """The published loop for one node; returns the keys it wrote."""
    written = 0
    for call, session in registry.owned_sessions():
        key = session_key(call, session)
        raw = await registry.store.get(key)
        if raw is not None:
            await registry.store.set(key, raw, registry.record_ttl, only_if_exists=True)
            written += 1
    return written


async def ours(registry: SessionRegistry) -> int:
    return (await registry.heartbeat()).keys_written


class RequestCounter:
    """Counts the HTTP requests a DynamoDB store's botocore client sends (every attempt), while ``on``."""

    def __init__(self, store: SessionKVStore) -> None:
        self.requests = 0
        self.on = False
        if isinstance(store, DynamoDBStore):
            store.client.meta.events.register("before-send.dynamodb", self._sent, unique_id="bench-fleet-requests")

    def _sent(self, **_: Any) -> None:  # returns None: botocore then sends the request itself
        if self.on:
            self.requests += 1


async def flush_postgres_statistics(store: SessionKVStore) -> int:
    """Have every pooled connection of a PostgreSQL store publish its statistics now; returns the statements sent.

    All the pool's connections are held at once, so each one runs the statement (the flush happens as its
    transaction ends, before the server answers). Nothing for other stores.
    """
    if not isinstance(store, PostgresStore):
        return 0
    pool = store.pool
    connections = [await pool.acquire() for _ in range(pool.get_max_size())]
    try:
        for connection in connections:
            await connection.execute("SELECT pg_stat_force_next_flush()")
    finally:
        for connection in connections:
            await pool.release(connection)
    return len(connections)


async def main(url: str, namespace: str, loop: str, nodes: int, sessions: int, rounds: int) -> None:
    beat = ours if loop == "ours" else published_heartbeat
    lines = asyncio.StreamReader()
    await asyncio.get_running_loop().connect_read_pipe(lambda: asyncio.StreamReaderProtocol(lines), sys.stdin)
    async with open_store(url, namespace=namespace) as store:
        counter = RequestCounter(store)
        registries = [SessionRegistry(store, node_id=f"fleet-{os.getpid()}-{n}", ttl=TTL) for n in range(nodes)]
        for registry in registries:
            await registry.start()
            for i in range(sessions):
                await registry.register(f"{registry.node_id}-call-{i // 4}", f"s{i}", metadata={"n": i})
        await flush_postgres_statistics(store)
        print("ready", flush=True)
        await lines.readline()
        counter.on = True
        written = 0
        for _ in range(rounds):
            written += sum(await asyncio.gather(*(beat(registry) for registry in registries)))
        counter.on = False
        probes = await flush_postgres_statistics(store)
        print(json.dumps({"keys_written": written, "requests": counter.requests, "probes": probes}), flush=True)
        await lines.readline()
        for registry in registries:
            await registry.stop()


if __name__ == "__main__":
    url, namespace, loop, nodes, sessions, rounds = sys.argv[1:7]
    asyncio.run(main(url, namespace, loop, int(nodes), int(sessions), int(rounds)))
