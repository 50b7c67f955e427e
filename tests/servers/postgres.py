"""PostgreSQL fixtures: ``postgres_server`` (one server for the whole test session, sessionkv's table created)
and ``postgres_process``, a per-test factory of throwaway servers to kill, freeze or restart.

Order of preference: ``SESSIONKV_POSTGRES_URL`` (an existing server: its table must exist or the URL must say
``create_table=true``), a local PostgreSQL 15 (Debian package postgresql, binaries in /usr/lib/postgresql/15/bin),
a Docker engine through testcontainers; otherwise skip, or fail when ``CI`` is set. Tests isolate themselves
with a unique namespace.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .availability import server_unavailable
from .ladder import Endpoint, server_ladder
from .postgres_process import PostgresProcess, postgres_bin_dir, postgres_url, start_postgres

URL_ENV = "SESSIONKV_POSTGRES_URL"
IMAGE = "postgres:15"


def _local_postgres() -> Endpoint:
    server = start_postgres()
    return Endpoint(postgres_url(server, create_table="true", sweep_interval="1"), [server])


def _docker_postgres() -> Iterator[str]:
    from testcontainers.postgres import PostgresContainer  # type: ignore[import-not-found,unused-ignore]

    with PostgresContainer(IMAGE, username="postgres", password="postgres", dbname="postgres") as container:
        host, port = container.get_container_host_ip(), container.get_exposed_port(5432)
        yield f"postgresql://postgres:postgres@{host}:{port}/postgres?create_table=true"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Endpoint]:
    """A PostgreSQL server for the whole test session; its URL creates sessionkv's table and sweeps every second."""
    binaries = [] if postgres_bin_dir() is not None else ["postgres"]  # Debian keeps it off PATH
    yield from server_ladder(
        "PostgreSQL", env_var=URL_ENV, binaries=binaries, start_local=_local_postgres, docker=_docker_postgres
    )


@pytest.fixture
def postgres_process() -> Iterator[Any]:
    """A factory for throwaway PostgreSQL servers this test owns (to kill, SIGSTOP, restart...).

    ``postgres_process("name=value", ...)`` returns a started ``PostgresProcess``; all are stopped afterwards.
    """
    if postgres_bin_dir() is None:
        server_unavailable("this test needs its own PostgreSQL server, and PostgreSQL 15 is not installed")
    started: list[PostgresProcess] = []

    def start(*settings: str, port: int | None = None, workdir: Path | None = None) -> PostgresProcess:
        server = start_postgres(*settings, port=port, workdir=workdir)
        started.append(server)
        return server

    yield start
    for server in started:
        server.signal_all(signal.SIGCONT)  # SIGCONT: a frozen server cannot stop
        server.cleanup()
