"""DynamoDB fixtures: ``dynamodb_server``, moto's server (or ``SESSIONKV_DYNAMODB_URL``) and a table, session-wide.

Order of preference: ``SESSIONKV_DYNAMODB_URL`` (e.g. a real table: its credentials come from the AWS
chain), moto's server run with this interpreter (``moto[server]``), LocalStack through testcontainers
when Docker answers; otherwise skip, or fail when ``CI`` is set. The endpoint's url opens a store on
the table (``create_table=true``); tests isolate themselves with unique namespaces.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from .availability import server_unavailable
from .dynamodb_process import drop_table, endpoint_of, moto_installed, start_moto, table_url, use_dummy_credentials
from .ladder import Endpoint, server_ladder, testcontainer
from .process import ServerProcess

URL_ENV = "SESSIONKV_DYNAMODB_URL"


def _local_moto() -> Endpoint:
    use_dummy_credentials()
    server = start_moto()
    return Endpoint(table_url(f"http://{server.host}:{server.port}"), [server])


@pytest.fixture(scope="session")
def dynamodb_server() -> Iterator[Endpoint]:
    """A DynamoDB endpoint (moto's server) with a table for the whole test session."""
    docker = testcontainer(
        "localstack",
        "LocalStackContainer",
        "localstack/localstack:3",
        4566,
        lambda h, p: (use_dummy_credentials(), table_url(f"http://{h}:{p}"))[1],
    )
    # moto runs as `python -m moto.server`: no binary to look for, unless moto is missing.
    binaries = [] if moto_installed() else ["moto_server"]
    yield from server_ladder(
        "DynamoDB (moto)", env_var=URL_ENV, binaries=binaries, start_local=_local_moto, docker=docker
    )


@pytest.fixture
def dynamodb_table_url(dynamodb_server: Endpoint) -> Iterator[str]:
    """A URL on a table of this test's own (created on first use, deleted afterwards) on our moto server.

    moto never deletes expired items and scans every item of a table, so a table shared by the whole
    session slows every ``keys("")`` as tests leave items behind. On an endpoint we do not own
    (``SESSIONKV_DYNAMODB_URL``, a real table) this is the shared URL: no table is created there.
    """
    if not dynamodb_server.owned:
        yield dynamodb_server.url
        return
    name = f"sessionkv-test-{uuid.uuid4().hex[:12]}"
    endpoint = endpoint_of(dynamodb_server.url)
    yield table_url(endpoint, name)
    drop_table(endpoint, name)


@pytest.fixture
def moto_process() -> Iterator[Any]:
    """A factory for throwaway moto servers this test owns (to kill, stop, restart); all stopped afterwards."""
    if not moto_installed():
        server_unavailable("this test needs its own moto server, and moto[server] is not installed")
    use_dummy_credentials()
    started: list[ServerProcess] = []

    def start(port: int | None = None) -> ServerProcess:
        server = start_moto(port)
        started.append(server)
        return server

    yield start
    for server in started:
        server.cleanup()
