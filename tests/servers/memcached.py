"""memcached fixtures: ``memcached_server`` (session-wide, via the ladder) and ``memcached_process`` (per test).

Order of preference: ``SESSIONKV_MEMCACHED_URL`` (an existing server), a local ``memcached`` binary,
a Docker engine through testcontainers; otherwise skip, or fail when ``CI`` is set. Tests isolate
themselves with a unique namespace, so nothing is flushed between them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from .availability import server_unavailable
from .ladder import Endpoint, server_ladder, testcontainer
from .memcached_process import memcached_url, start_memcached
from .process import ServerProcess, find_binary

URL_ENV = "SESSIONKV_MEMCACHED_URL"


def _local_memcached() -> Endpoint:
    server = start_memcached()
    return Endpoint(memcached_url(server), [server])


@pytest.fixture(scope="session")
def memcached_server() -> Iterator[Endpoint]:
    """One memcached for the whole test session."""
    docker = testcontainer(
        "memcached", "MemcachedContainer", "memcached:1.6", 11211, lambda h, p: f"memcached://{h}:{p}"
    )
    yield from server_ladder(
        "memcached", env_var=URL_ENV, binaries=["memcached"], start_local=_local_memcached, docker=docker
    )


@pytest.fixture
def memcached_process() -> Iterator[Callable[..., ServerProcess]]:
    """A factory for throwaway memcached servers this test owns (to kill, freeze, fill...).

    ``memcached_process(memory_mb=2)`` returns a started ``ServerProcess``; all are stopped afterwards.
    Keywords go to ``start_memcached`` (``port=``, extra CLI arguments positionally).
    """
    if find_binary("memcached") is None:
        server_unavailable("this test needs its own memcached process, and no memcached binary is installed")
    started: list[ServerProcess] = []

    def start(*extra: str, **kwargs: Any) -> ServerProcess:
        server = start_memcached(*extra, **kwargs)
        started.append(server)
        return server

    yield start
    for server in started:
        server.cleanup()
