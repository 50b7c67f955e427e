"""``sessionkv demo --url URL`` leaves nothing in the store when it says so: counted on the server itself.

The demo runs in a namespace of its own (``sessionkv-demo-<hex>:``) and deletes what its crashed node left;
the server's own count of every demo namespace (tests/servers/footprint.py, by prefix) must be what it was
before the run. Redis and memcached are where directory indexes once stayed behind; etcd counts keys only
(the SIGKILLed node's empty leases lapse on their own, as a crashed process's always do).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import pytest

from servers.footprint import footprint

DEMO_NAMESPACES = "sessionkv-demo-"  # the prefix of every namespace the demo makes itself


@pytest.mark.parametrize("fixture", ["redis_server", "memcached_server", "etcd_server", "postgres_server"])
def test_the_demo_leaves_nothing_in_its_namespace(fixture: str, request: pytest.FixtureRequest) -> None:
    url = str(request.getfixturevalue(fixture).url)
    counted = "keys" if fixture == "etcd_server" else "total"
    before = asyncio.run(footprint(url, DEMO_NAMESPACES))[counted]
    argv = [sys.executable, "-m", "sessionkv.cli", "demo", "--url", url, "--ttl", "0.6", "--interval", "0.2"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=90, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 keys left in the store" in done.stdout
    after = asyncio.run(footprint(url, DEMO_NAMESPACES))
    assert after[counted] == before, (fixture, before, after)
