"""etcd fixtures: one member (``etcd_server``) and a 3-member cluster (``etcd_cluster``), session-wide,
plus ``etcd_process``, a per-test factory of throwaway members to kill, stop or protect with a password.

Order of preference: ``SESSIONKV_ETCD_URL`` / ``SESSIONKV_ETCD_CLUSTER_URL`` (an existing server), a local
``etcd`` binary (Debian package etcd-server), a Docker engine through testcontainers (one member only);
otherwise skip, or fail when ``CI`` is set. Tests isolate themselves with a unique namespace.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .availability import server_unavailable
from .etcd_process import start_etcd, start_etcd_cluster
from .ladder import Endpoint, server_ladder
from .process import ServerProcess, find_binary

URL_ENV = "SESSIONKV_ETCD_URL"
CLUSTER_URL_ENV = "SESSIONKV_ETCD_CLUSTER_URL"
IMAGE = "quay.io/coreos/etcd:v3.5.17"


def _local_etcd() -> Endpoint:
    server = start_etcd()
    return Endpoint(f"etcd://{server.host}:{server.port}", [server])


def _local_cluster() -> Endpoint:
    members = start_etcd_cluster(3)
    return Endpoint("etcd://" + ",".join(f"{m.host}:{m.port}" for m in members), members)


def _docker_etcd() -> Iterator[str]:
    """One etcd member in a container (testcontainers' generic container; no etcd module exists)."""
    from testcontainers.core.container import DockerContainer  # type: ignore[import-not-found,unused-ignore]
    from testcontainers.core.waiting_utils import wait_for_logs  # type: ignore[import-not-found,unused-ignore]

    command = (
        "etcd --listen-client-urls http://0.0.0.0:2379 --advertise-client-urls http://127.0.0.1:2379 "
        "--heartbeat-interval 10 --election-timeout 100"
    )
    with DockerContainer(IMAGE).with_command(command).with_exposed_ports(2379) as container:
        wait_for_logs(container, "ready to serve client requests", timeout=30)
        yield f"etcd://{container.get_container_host_ip()}:{container.get_exposed_port(2379)}"


@pytest.fixture(scope="session")
def etcd_server() -> Iterator[Endpoint]:
    """A one-member etcd for the whole test session."""
    yield from server_ladder("etcd", env_var=URL_ENV, binaries=["etcd"], start_local=_local_etcd, docker=_docker_etcd)


@pytest.fixture(scope="session")
def etcd_cluster() -> Iterator[Endpoint]:
    """A 3-member etcd cluster for the whole test session; its URL lists every member."""
    yield from server_ladder("etcd cluster", env_var=CLUSTER_URL_ENV, binaries=["etcd"], start_local=_local_cluster)


@pytest.fixture
def etcd_process() -> Iterator[Any]:
    """A factory for throwaway one-member etcds this test owns (to kill, SIGSTOP, restart, secure...).

    ``etcd_process("--cert-file", ...)`` returns a started ``ServerProcess``; all are stopped afterwards.
    Keywords go to ``start_etcd`` (``port=``, ``workdir=``, ``fast_raft=``).
    """
    if find_binary("etcd") is None:
        server_unavailable("this test needs its own etcd process, and no etcd binary is installed")
    started: list[ServerProcess] = []

    def start(*extra: str, port: int | None = None, workdir: Path | None = None, **kwargs: Any) -> ServerProcess:
        server = start_etcd(*extra, port=port, workdir=workdir, **kwargs)
        started.append(server)
        return server

    yield start
    for server in started:
        server.cleanup()
