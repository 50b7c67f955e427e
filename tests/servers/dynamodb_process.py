"""Throwaway moto DynamoDB servers (``python -m moto.server``) and the dummy AWS settings they need; no pytest.

moto's in-process ``mock_aws`` does not work with aioboto3, so tests and bench/ talk to moto's HTTP
server like to DynamoDB. moto keeps everything in memory: a restarted server has no tables.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import uuid
from pathlib import Path

from .process import ServerProcess, tcp_exchange

REGION = "us-east-1"
#: Credentials moto accepts (any non-empty values); set only when the tests start their own moto.
DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def moto_installed() -> bool:
    """True when ``moto.server`` (moto[server]) can be run with this interpreter."""
    return importlib.util.find_spec("moto") is not None and importlib.util.find_spec("moto.server") is not None


def use_dummy_credentials() -> None:
    """Point the AWS credential chain of this process (and its children) at dummy keys, for moto."""
    os.environ.update(DUMMY_CREDENTIALS)
    os.environ.pop("AWS_PROFILE", None)


#: ``python -m moto.server``, but serving one request at a time. moto's threaded server checks a
#: conditional write's condition and writes in separate steps with no lock, so concurrent requests
#: interleave (a delete lands between them and a conditional put resurrects the key); DynamoDB does
#: both atomically. Serialising requests restores that guarantee for the tests.
MOTO_SERIAL = """
import sys
from werkzeug.serving import run_simple
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
app = DomainDispatcherApplication(create_backend_app)
run_simple(sys.argv[1], int(sys.argv[2]), app, threaded=False, request_handler=MotoRequestHandler)
"""


def moto_argv(port: int, workdir: Path) -> list[str]:
    """The command line of a moto server on ``127.0.0.1:port`` (``workdir`` is unused: moto keeps no files)."""
    return [sys.executable, "-c", MOTO_SERIAL, "127.0.0.1", str(port)]


def moto_answers(server: ServerProcess) -> bool:
    """Ready once moto's HTTP server answers a request."""
    reply = tcp_exchange(server.host, server.port, b"GET /moto-api/ HTTP/1.0\r\nHost: localhost\r\n\r\n")
    return reply.startswith(b"HTTP/1.")


def start_moto(port: int | None = None) -> ServerProcess:
    """Start one moto server and wait until it answers HTTP."""
    return ServerProcess("moto", moto_argv, ready=moto_answers, port=port, startup_timeout=30.0).start()


def table_url(endpoint: str, table: str | None = None, **options: str) -> str:
    """``dynamodb://TABLE?endpoint_url=...&region=us-east-1&create_table=true`` (plus ``options``) for a test table."""
    name = table or f"sessionkv-test-{uuid.uuid4().hex[:12]}"
    query = {"endpoint_url": endpoint, "region": REGION, "create_table": "true", **options}
    return f"dynamodb://{name}?" + "&".join(f"{key}={value}" for key, value in query.items())


def endpoint_of(url: str) -> str:
    """The ``endpoint_url`` option of a dynamodb:// URL."""
    return url.split("endpoint_url=", 1)[1].split("&", 1)[0]


def drop_table(endpoint: str, table: str) -> None:
    """Delete ``table`` on ``endpoint`` if it exists (synchronous boto3: usable from sync fixtures and bench/)."""
    import boto3

    client = boto3.client("dynamodb", endpoint_url=endpoint, region_name=REGION)
    try:
        client.delete_table(TableName=table)
    except client.exceptions.ResourceNotFoundException:
        pass
    finally:
        client.close()
