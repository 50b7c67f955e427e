"""One process's side of the two-process admission race (run as a script, not collected).

Usage: python admission_racer.py URL PREFIX REGISTRIES TTL INTERVAL CALL LIMIT. Opens REGISTRIES
registries, each on its own store object, each heartbeating every INTERVAL; prints ``ready``; waits for
a line on stdin (the barrier: the other process writes it when both are ready); then every registry
registers two sessions of CALL with ``max_per_call=LIMIT`` at once and one JSON line reports
``{"won": [...], "full": [...]}`` (session ids). It keeps heartbeating until killed (its crash).
"""

from __future__ import annotations

import asyncio
import json
import sys

from sessionkv import CallFullError, SessionRegistry, open_store


async def beat(registry: SessionRegistry, interval: float) -> None:
    """The registry's heartbeat loop (what a SessionNode's maintenance does), until cancelled."""
    while True:
        await registry.heartbeat()
        await asyncio.sleep(interval)


async def race(registries: list[SessionRegistry], call: str, limit: int) -> dict[str, list[str]]:
    """Two registrations per registry, all at once; which were admitted and which found the call full."""
    attempts = [(r, f"{r.node_id}-{j}") for r in registries for j in range(2)]
    results = await asyncio.gather(
        *(r.register(call, session, max_per_call=limit) for r, session in attempts), return_exceptions=True
    )
    outcome: dict[str, list[str]] = {"won": [], "full": []}
    for (_, session), result in zip(attempts, results, strict=True):
        if isinstance(result, CallFullError):
            outcome["full"].append(session)
        elif isinstance(result, BaseException):
            raise result
        else:
            outcome["won"].append(session)
    return outcome


async def main(url: str, prefix: str, count: int, ttl: float, interval: float, call: str, limit: int) -> None:
    registries = [SessionRegistry(open_store(url), node_id=f"{prefix}{i}", ttl=ttl) for i in range(count)]
    for registry in registries:
        await registry.start()
    loops = [asyncio.create_task(beat(registry, interval)) for registry in registries]
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.readline)  # the barrier
    print(json.dumps(await race(registries, call, limit)), flush=True)
    await asyncio.gather(*loops)


if __name__ == "__main__":
    url, prefix, count, ttl, interval, call, limit = sys.argv[1:8]
    asyncio.run(main(url, prefix, int(count), float(ttl), float(interval), call, int(limit)))
