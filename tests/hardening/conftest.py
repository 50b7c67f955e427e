"""Fixtures for the hardening tests: ``faulty`` (throwaway servers of each server backend, to kill and freeze) and
``live_url`` (each backend on its session-wide test server)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fault_servers import FAULT_OPTIONS, Faulty, start_faulty
from live_stores import LIVE_FIXTURES


@pytest.fixture(params=list(FAULT_OPTIONS))
def faulty(request: pytest.FixtureRequest) -> Iterator[Faulty]:
    """Servers of Redis, Redis Cluster, memcached, etcd, DynamoDB (moto) or PostgreSQL of this test, short timeouts.

    Built on the per-test factories of tests/servers/, so killing or freezing them disturbs no other test.
    """
    faults = start_faulty(request.param)
    try:
        yield faults
    finally:
        faults.cleanup()


@pytest.fixture(params=list(LIVE_FIXTURES))
def live_url(request: pytest.FixtureRequest) -> str:
    """A URL on each backend's session-wide test server (memory:// needs none); tests add a unique namespace."""
    fixture = LIVE_FIXTURES[request.param]
    if fixture is None:
        return f"memory://hardening-{uuid.uuid4().hex[:8]}"
    found = request.getfixturevalue(fixture)
    return found if isinstance(found, str) else str(found.url)
