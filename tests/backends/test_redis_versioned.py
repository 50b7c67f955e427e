"""Versioned writes on Redis (single node and cluster): a counter from two processes loses no increment."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import uuid

import pytest

from servers.redis import RedisEndpoint

COUNTER = """
import asyncio, sys
from sessionkv import open_store
from sessionkv_conformance.area_versioned import increment

async def main(url: str, namespace: str) -> None:
    async with open_store(url, namespace=namespace) as store:
        async def task() -> None:
            for _ in range(10):
                await increment(store, "counter")
        await asyncio.gather(*(task() for _ in range(8)))

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


@pytest.mark.parametrize("topology", ["redis_server", "redis_cluster"])
def test_counter_from_two_processes_loses_no_increment(request: pytest.FixtureRequest, topology: str) -> None:
    endpoint: RedisEndpoint = request.getfixturevalue(topology)
    namespace = f"counter-{uuid.uuid4().hex[:8]}:"
    script = textwrap.dedent(COUNTER)
    workers = [
        subprocess.Popen([sys.executable, "-c", script, endpoint.url, namespace], stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    for worker in workers:
        _, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
    check = "import asyncio,sys\nfrom sessionkv import open_store\n" + (
        "async def m():\n    async with open_store(sys.argv[1], namespace=sys.argv[2]) as s:\n"
        "        print((await s.get('counter')).decode()); await s.delete(['counter'])\nasyncio.run(m())"
    )
    done = subprocess.run([sys.executable, "-c", check, endpoint.url, namespace], capture_output=True, text=True)
    assert done.stdout.strip() == str(2 * 8 * 10), done.stderr
