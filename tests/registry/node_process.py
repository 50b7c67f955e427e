"""A registry node as its own OS process, for the multi-process tests (run as a script, not collected).

Usage: python node_process.py URL NODE_ID SESSIONS TTL INTERVAL. Prints ``ready`` once its sessions
are registered, then ``maintained`` after every successful maintenance cycle (heartbeat + close check).
"""

from __future__ import annotations

import asyncio
import sys

from sessionkv import SessionNode, open_store


async def main(url: str, node_id: str, sessions: int, ttl: float, interval: float) -> None:
    store = open_store(url)
    async with store, SessionNode(store, node_id=node_id, ttl=ttl, maintenance_interval=interval) as node:
        for i in range(sessions):
            await node.start_session("call", f"{node_id}-s{i}", asyncio.Event().wait)
        print("ready", flush=True)
        seen = node.last_maintenance
        while True:
            await asyncio.sleep(interval / 20)
            if node.last_maintenance != seen:
                seen = node.last_maintenance
                print("maintained", flush=True)


if __name__ == "__main__":
    url, node_id, sessions, ttl, interval = sys.argv[1:6]
    asyncio.run(main(url, node_id, int(sessions), float(ttl), float(interval)))
