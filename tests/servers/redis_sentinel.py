"""Redis Sentinel fixtures: a session-wide group (``redis_sentinel``) and throwaway groups to fail over.

``redis_sentinel``: one primary, one replica, three sentinels for the whole test session (conformance
and registry suites), or ``SESSIONKV_REDIS_SENTINEL_URL`` (an existing group). Its sentinels wait 10 s
before calling the primary down, so a loaded CI machine never fails it over by accident.
``sentinel_group``: a factory for groups a test owns and may kill (down-after 1000 ms, failover-timeout
3000 ms): ``sentinel_group()`` returns a started ``SentinelGroup``; all are stopped by PID afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .availability import server_unavailable
from .ladder import Endpoint, server_ladder
from .process import find_binary
from .redis_sentinel_process import SentinelGroup, start_sentinel_group

SENTINEL_URL_ENV = "SESSIONKV_REDIS_SENTINEL_URL"
#: The session group's sentinels: slow to call a primary down (no accidental failover under load).
SESSION_DOWN_AFTER_MS = 10_000
#: Groups for failover tests: quick to fail over, so CI stays quick.
FAILOVER_DOWN_AFTER_MS = 1000
FAILOVER_TIMEOUT_MS = 3000


def _local_group() -> Endpoint:
    group = start_sentinel_group(down_after_ms=SESSION_DOWN_AFTER_MS, failover_timeout_ms=30_000)
    return Endpoint(group.url, group.processes)


@pytest.fixture(scope="session")
def redis_sentinel() -> Iterator[Endpoint]:
    """A Sentinel-managed primary with one replica and three sentinels, for the whole test session."""
    yield from server_ladder(
        "Redis Sentinel", env_var=SENTINEL_URL_ENV, binaries=["redis-server"], start_local=_local_group
    )


@pytest.fixture
def sentinel_group() -> Iterator[Any]:
    """A factory for Sentinel groups a test owns (to kill the primary); keywords go to ``start_sentinel_group``."""
    if find_binary("redis-server") is None:
        server_unavailable("this test needs its own Sentinel group, and no redis-server binary is installed")
    started: list[SentinelGroup] = []

    def start(**kwargs: Any) -> SentinelGroup:
        kwargs.setdefault("down_after_ms", FAILOVER_DOWN_AFTER_MS)
        kwargs.setdefault("failover_timeout_ms", FAILOVER_TIMEOUT_MS)
        group = start_sentinel_group(**kwargs)
        started.append(group)
        return group

    yield start
    for group in started:
        group.cleanup()
