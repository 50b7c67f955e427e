"""Versioned writes on Redis (single node and cluster): a counter from two processes loses no increment."""

from __future__ import annotations

import uuid

import pytest
from contended_counter import count_from_processes

from servers.ladder import Endpoint


@pytest.mark.asyncio
@pytest.mark.parametrize("topology", ["redis_server", "redis_cluster"])
async def test_counter_from_two_processes_loses_no_increment(request: pytest.FixtureRequest, topology: str) -> None:
    endpoint: Endpoint = request.getfixturevalue(topology)
    await count_from_processes([endpoint.url] * 2, f"counter-{uuid.uuid4().hex[:8]}:", tasks=8, increments=10)
