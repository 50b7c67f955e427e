"""One process of the fleet simulation (bench/suites/fleet.py): many registry nodes sharing one store object.

``python -m bench.fleet_worker URL NAMESPACE LOOP NODES SESSIONS ROUNDS``: registers ``NODES x SESSIONS``
sessions (four per call), prints ``ready``, waits for a line on stdin, runs ``ROUNDS`` heartbeat rounds of every
node at once, prints the keys its loop wrote as JSON, waits for another line, then stops its nodes (cleanup).
``LOOP`` is ``ours`` (``SessionRegistry.heartbeat``) or ``published`` (the published design's heartbeat: per
session, read the record and write it back if it still exists).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys

from sessionkv import SessionRegistry, open_store
from sessionkv.registry.keys import session_key

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


async def main(url: str, namespace: str, loop: str, nodes: int, sessions: int, rounds: int) -> None:
    beat = ours if loop == "ours" else published_heartbeat
    lines = asyncio.StreamReader()
    await asyncio.get_running_loop().connect_read_pipe(lambda: asyncio.StreamReaderProtocol(lines), sys.stdin)
    async with open_store(url, namespace=namespace) as store:
        registries = [SessionRegistry(store, node_id=f"fleet-{os.getpid()}-{n}", ttl=TTL) for n in range(nodes)]
        for registry in registries:
            await registry.start()
            for i in range(sessions):
                await registry.register(f"{registry.node_id}-call-{i // 4}", f"s{i}", metadata={"n": i})
        print("ready", flush=True)
        await lines.readline()
        written = 0
        for _ in range(rounds):
            written += sum(await asyncio.gather(*(beat(registry) for registry in registries)))
        print(json.dumps({"keys_written": written}), flush=True)
        await lines.readline()
        for registry in registries:
            await registry.stop()


if __name__ == "__main__":
    url, namespace, loop, nodes, sessions, rounds = sys.argv[1:7]
    asyncio.run(main(url, namespace, loop, int(nodes), int(sessions), int(rounds)))
