"""Redis fixtures: a single node (``redis_server``) and a 3-primary cluster (``redis_cluster``), session-wide.

Order of preference: ``SESSIONKV_REDIS_URL`` / ``SESSIONKV_REDIS_CLUSTER_URL`` (an existing server), a local
``redis-server`` binary, a Docker engine through testcontainers (single node only); otherwise skip, or fail
when ``CI`` is set. Tests isolate themselves with a unique namespace, so nothing is flushed between them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from .availability import docker_answers, server_unavailable
from .process import ServerProcess, find_binary
from .redis_process import start_redis, start_redis_cluster

URL_ENV = "SESSIONKV_REDIS_URL"
CLUSTER_URL_ENV = "SESSIONKV_REDIS_CLUSTER_URL"


@dataclass
class RedisEndpoint:
    """Where a test Redis listens; ``processes`` is empty when the server is not ours (env URL, Docker)."""

    url: str
    processes: list[ServerProcess] = field(default_factory=list)

    @property
    def owned(self) -> bool:
        return bool(self.processes)


def _docker_redis() -> Iterator[RedisEndpoint]:
    try:  # testcontainers >= 4.14 moved it to .community and deprecated the old path
        from testcontainers.community.redis import RedisContainer  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        try:
            from testcontainers.redis import RedisContainer  # type: ignore[import-not-found,no-redef,unused-ignore]
        except ImportError:
            server_unavailable("no redis-server binary; Docker answers but testcontainers is not installed")
    with RedisContainer("redis:7") as container:
        host, port = container.get_container_host_ip(), container.get_exposed_port(6379)
        yield RedisEndpoint(f"redis://{host}:{port}/0")


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisEndpoint]:
    """A single-node Redis for the whole test session."""
    if os.environ.get(URL_ENV):
        yield RedisEndpoint(os.environ[URL_ENV])
        return
    if find_binary("redis-server") is None:
        if docker_answers():
            yield from _docker_redis()
            return
        server_unavailable(f"no redis-server binary, no Docker engine and {URL_ENV} is not set")
    server = start_redis()
    try:
        yield RedisEndpoint(f"redis://{server.host}:{server.port}/0", [server])
    finally:
        server.cleanup()


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[RedisEndpoint]:
    """A Redis Cluster of 3 primaries (no replicas) for the whole test session."""
    if os.environ.get(CLUSTER_URL_ENV):
        yield RedisEndpoint(os.environ[CLUSTER_URL_ENV])
        return
    if find_binary("redis-server") is None or find_binary("redis-cli") is None:
        server_unavailable(f"a cluster needs the redis-server and redis-cli binaries, or {CLUSTER_URL_ENV}")
    nodes = start_redis_cluster()
    try:
        hosts = ",".join(f"{n.host}:{n.port}" for n in nodes)
        yield RedisEndpoint(f"redis+cluster://{hosts}", nodes)
    finally:
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
