"""A counter incremented from several processes through a get_versioned/cas retry loop, for every backend's tests.

Each process opens the store by URL, says it is ready, waits for the "go" key, then runs ``tasks``
tasks of ``increments`` increments each and prints the numbers its cas calls wrote. No increment
may be lost or counted twice: together the numbers are exactly 1..N and the stored counter is N.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

from sessionkv import open_store

COUNTER_PROGRAM = """
import asyncio, json, os, sys
from sessionkv import open_store

async def main(url, namespace, tasks, increments):
    conflicts = 0

    async def increment(store):
        nonlocal conflicts
        while True:
            current = await store.get_versioned("counter")
            number = int(current.value) + 1 if current is not None else 1
            version = current.version if current is not None else None
            if await store.cas("counter", str(number).encode(), 600, version=version) is not None:
                return number
            conflicts += 1

    async def run(store):
        return [await increment(store) for _ in range(increments)]

    async with open_store(url, namespace=namespace) as store:
        await store.set(f"ready-{os.getpid()}", b"1", 600)
        while await store.get("go") is None:
            await asyncio.sleep(0.01)
        results = await asyncio.gather(*(run(store) for _ in range(tasks)))
    print(json.dumps({"numbers": [n for run in results for n in run], "conflicts": conflicts}))

asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
"""


def start_counter(url: str, namespace: str, tasks: int, increments: int) -> subprocess.Popen[bytes]:
    """One counting process on ``url`` in ``namespace``."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    argv = [sys.executable, "-c", COUNTER_PROGRAM, url, namespace, str(tasks), str(increments)]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)


async def count_from_processes(urls: list[str], namespace: str, *, tasks: int = 8, increments: int = 5) -> int:
    """Run one counting process per URL (all on one store), started together; returns the refused cas calls.

    The store is opened here first (a URL that creates its table does so before the processes start).
    """
    async with open_store(urls[0], namespace=namespace) as store:
        children = [start_counter(url, namespace, tasks, increments) for url in urls]
        try:
            async with asyncio.timeout(120):
                while len(await store.keys("ready-")) < len(children):
                    assert all(child.poll() is None for child in children), "a counting process exited early"
                    await asyncio.sleep(0.02)
                await store.set("go", b"1", 600)
                reports = []
                for child in children:
                    out, err = await asyncio.to_thread(child.communicate)
                    assert child.returncode == 0, err.decode()[-2000:]
                    reports.append(json.loads(out))
            numbers = sorted(n for report in reports for n in report["numbers"])
            total = len(urls) * tasks * increments
            assert numbers == list(range(1, total + 1)), "increments were lost or repeated across processes"
            assert await store.get("counter") == str(total).encode()
            assert all(report["numbers"] for report in reports), "a process made no increment: nothing contended"
            return sum(int(report["conflicts"]) for report in reports)
        finally:
            for child in children:
                if child.poll() is None:
                    child.kill()
                    child.wait()
            await store.delete(await store.keys(""))
