"""A password planted in every credential-bearing URL (redis, rediss, redis+cluster, redis+sentinel, etcd, etcds,
postgresql) never shows: not in repr/str, log records at any level, exception messages or their chained causes, CLI
output (sessions, nodes, check; table and --json) or the HTTP answers of ``sessionkv serve``, whether the server
refuses the password or is down."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hardening_support import exception_text

from servers.availability import server_unavailable
from servers.etcd_process import enable_auth
from servers.postgres_process import PostgresProcess, psql
from servers.process import ServerProcess, free_port, tcp_exchange
from servers.redis_sentinel_process import SERVICE, start_sentinel
from servers.tls import TLSFiles, make_tls_files
from sessionkv import SessionKVError, StoreURL, open_store

SECRET = "Hunter2PlantedSecret"
OTHER = "the-servers-own-password"
QUICK = {
    "redis": "retries=0&socket_timeout=2&socket_connect_timeout=2",
    "etcd": "timeout=2",
    "postgresql": "connect_timeout=2&command_timeout=2",
}
SCHEMES = ["redis", "rediss", "redis+cluster", "redis+sentinel", "etcd", "etcds", "postgresql"]
CLI_COMMANDS = [
    ["sessions"],
    ["sessions", "--json"],
    ["nodes"],
    ["nodes", "--json"],
    ["check", "--connect-timeout", "2"],
    ["check", "--connect-timeout", "2", "--json", "--verbose"],
]


@pytest.fixture
def tls(tmp_path: Path) -> TLSFiles:
    try:
        return make_tls_files(tmp_path)
    except (FileNotFoundError, subprocess.CalledProcessError) as exc:
        server_unavailable(f"cannot make test certificates with openssl: {exc}")


def password_url(scheme: str, port: int, tls: TLSFiles) -> str:
    """A URL of ``scheme`` on 127.0.0.1:``port`` carrying ``SECRET`` (user root for etcd, postgres for PostgreSQL),
    with short timeouts; a ``redis+sentinel`` URL carries it as the data nodes' password and the sentinels'."""
    family = "etcd" if scheme.startswith("etcd") else scheme if scheme == "postgresql" else "redis"
    user = {"etcd": "root", "postgresql": "postgres"}.get(family, "")
    options = QUICK[family] + (f"&ssl_ca_certs={tls.ca}" if scheme in ("rediss", "etcds") else "")
    if scheme == "redis+sentinel":
        options += f"&sentinel_password={SECRET}"
    path = {"redis": "/0", "rediss": "/0", "postgresql": "/postgres", "redis+sentinel": f"/{SERVICE}/0"}.get(scheme, "")
    return f"{scheme}://{user}:{SECRET}@127.0.0.1:{port}{path}?{options}"


Start = Callable[..., ServerProcess]


def password_required(server: PostgresProcess) -> PostgresProcess:
    """Make ``server`` ask every TCP login for a password (SCRAM); the superuser has none, so every one is refused."""
    (server.workdir / "data" / "pg_hba.conf").write_text("host all all 127.0.0.1/32 scram-sha-256\n")
    psql(server, "SELECT pg_reload_conf()")  # this login still passes: the rules change at the reload
    return server


def refusing_server(
    scheme: str, tls: TLSFiles, redis_process: Start, etcd_process: Start, postgres_process: Start
) -> ServerProcess:
    """A server of ``scheme`` whose password is not ``SECRET`` (etcds: TLS, authentication off: a login is refused)."""
    tls_redis = ["--tls-cert-file", str(tls.cert), "--tls-key-file", str(tls.key), "--tls-ca-cert-file", str(tls.ca)]
    if scheme in ("redis", "redis+cluster"):
        return redis_process("--requirepass", OTHER)
    if scheme == "rediss":
        port = free_port()
        args = ["--port", "0", "--tls-port", str(port), *tls_redis, "--tls-auth-clients", "no", "--requirepass", OTHER]
        return redis_process(*args, port=port, ready=None)
    if scheme == "etcd":
        server = etcd_process()
        enable_auth(server, OTHER)
        return server
    if scheme == "postgresql":
        return password_required(postgres_process())
    return etcd_process("--cert-file", str(tls.cert), "--key-file", str(tls.key))


@pytest.fixture(params=[(s, state) for s in SCHEMES for state in ("refused", "down")], ids="-".join)
def secret_url(
    request: pytest.FixtureRequest, tls: TLSFiles, redis_process: Start, etcd_process: Start, postgres_process: Start
) -> Iterator[str]:
    """A URL with ``SECRET`` for each credential-bearing scheme, on a server that refuses it or on a dead port."""
    scheme, state = request.param
    if state == "down":
        yield password_url(scheme, free_port(), tls)
    elif scheme == "redis+sentinel":  # the sentinel refuses the password before any data node is asked
        sentinel = start_sentinel(f"requirepass {OTHER}", primary_port=redis_process("--requirepass", OTHER).port)
        try:
            yield password_url(scheme, sentinel.port, tls)
        finally:
            sentinel.cleanup()
    else:
        server = refusing_server(scheme, tls, redis_process, etcd_process, postgres_process)
        yield password_url(scheme, server.port, tls)


def assert_hidden(text: str, where: str) -> None:
    assert SECRET not in text, f"the password shows in {where}: {text!r}"


@pytest.mark.asyncio
async def test_the_password_is_in_no_repr_error_cause_or_log(secret_url: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    assert_hidden(repr(StoreURL.parse(secret_url)) + str(StoreURL.parse(secret_url)), "the parsed URL")
    store = open_store(secret_url)
    assert_hidden(repr(store) + str(store), "repr/str of the store")
    with pytest.raises(SessionKVError) as info:
        await store.start()
        await store.get("k")  # a server that let the connection in must refuse the first call
    assert_hidden(exception_text(info.value), "the error or a chained cause")
    assert_hidden(repr(store), "repr of the store after the failure")
    await store.close()
    logged = [record.getMessage() + repr(record.args) + (caplog.text or "") for record in caplog.records]
    assert_hidden("\n".join(logged), "a log record")


def run_cli(args: list[str]) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "sessionkv.cli", *args]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_the_password_is_in_no_cli_output(secret_url: str) -> None:
    runs = [(command, run_cli([*command, secret_url])) for command in CLI_COMMANDS]
    for command, proc in runs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode != 0, f"sessionkv {' '.join(command)} succeeded on a store it cannot use"
        assert_hidden(out + err, f"the output of sessionkv {' '.join(command)}")
        assert out.strip() or err.strip(), f"sessionkv {' '.join(command)} failed without a word"


@contextmanager
def serve(url: str) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """``sessionkv serve URL --port 0`` (maintenance every 0.2 s); yields its base URL; stops it with SIGTERM."""
    argv = [sys.executable, "-m", "sessionkv.cli", "serve", url, "--port", "0", "--interval", "0.2", "--ttl", "1"]
    env = {k: v for k, v in os.environ.items() if k != "SESSIONKV_API_TOKEN"}
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    try:
        assert "serving" in line, (line, proc.stderr.read() if proc.stderr and proc.poll() is not None else "")
        assert_hidden(line, "the line serve prints")
        yield line.rsplit(" on ", 1)[1].split()[0], proc
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
        assert_hidden(line + out + err, "the output of sessionkv serve")


def health(base: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"{base}/health", timeout=20) as reply:
            return int(reply.status), reply.read().decode()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read().decode()


def wait_unhealthy(base: str) -> str:
    """The body of /health once it reports the store unusable (503)."""
    for _ in range(100):
        status, body = health(base)
        if status == 503 and json.loads(body)["store"] != "ok":
            return body
    raise AssertionError(f"/health never reported the store down: {body}")


def test_serve_health_hides_the_password_when_the_server_refuses_it_later(redis_process: Start, tls: TLSFiles) -> None:
    server = redis_process("--requirepass", SECRET)
    with serve(password_url("redis", server.port, tls)) as (base, _):
        assert health(base)[0] == 200
        # The operator rotates the password and drops every connection: the next login is refused.
        rotate = f"AUTH {SECRET}\r\nCONFIG SET requirepass {OTHER}\r\nCLIENT KILL TYPE normal\r\n".encode()
        tcp_exchange(server.host, server.port, rotate)
        body = wait_unhealthy(base)
        assert_hidden(body, "the /health answer")


def test_serve_health_hides_the_password_when_the_server_goes_down(etcd_process: Start, tls: TLSFiles) -> None:
    server = etcd_process()
    enable_auth(server, SECRET)
    with serve(password_url("etcd", server.port, tls)) as (base, _):
        assert health(base)[0] == 200
        server.stop()
        body = wait_unhealthy(base)
        assert_hidden(body, "the /health answer")
        assert "***" in body or "connect" in body
