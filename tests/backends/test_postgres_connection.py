"""What PostgresStore's connection options do on a real server: ``statement_cache_size=0`` (PgBouncer in
transaction mode) leaves no named prepared statement on the connection while the default caches them, and the
libpq TLS options: ``sslmode=verify-full`` with ``sslrootcert`` connects to a TLS server and checks its
certificate, a CA that did not sign it is refused, ``sslmode=require`` on a server without TLS is refused; each
failure one line, the password never in it."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from servers.availability import server_unavailable
from servers.ladder import Endpoint
from servers.postgres_process import USER, PostgresProcess
from servers.tls import TLSFiles, make_tls_files
from sessionkv import SessionKVError, StoreError
from sessionkv_postgres.store import PostgresStore

pytestmark = pytest.mark.asyncio

StartPostgres = Callable[..., PostgresProcess]
SECRET = "pw-Planted-s3cret"
PREPARED = "SELECT count(*) FROM pg_prepared_statements"


def namespace() -> str:
    return f"c-{uuid.uuid4().hex[:12]}:"


async def prepared_after_calls(url: str) -> int:
    """Named prepared statements on the store's one connection after a few calls of each kind."""
    async with PostgresStore(url, namespace=namespace(), pool_min_size=1, pool_max_size=1) as store:
        for i in range(3):
            await store.set(f"k{i}", b"v", 60)
            await store.get(f"k{i}")
            await store.mget([f"k{i}", "other"])
        await store.delete(await store.keys(""))
        async with store.pool.acquire() as conn:
            return int(await conn.fetchval(PREPARED))


async def test_statement_cache_size_zero_keeps_no_prepared_statement_on_the_connection(
    postgres_server: Endpoint,
) -> None:
    assert await prepared_after_calls(postgres_server.url) >= 3, "the default caches each statement by name"
    separator = "&" if "?" in postgres_server.url else "?"
    assert await prepared_after_calls(f"{postgres_server.url}{separator}statement_cache_size=0") == 0


@pytest.fixture
def server_tls() -> Iterator[TLSFiles]:
    """A CA and a server certificate in a directory the ``postgres`` user owns (the server reads the key)."""
    directory = Path(tempfile.mkdtemp(prefix="pg-tls-"))
    try:
        files = make_tls_files(directory)
    except (FileNotFoundError, subprocess.CalledProcessError) as exc:
        shutil.rmtree(directory, ignore_errors=True)
        server_unavailable(f"cannot make test certificates with openssl: {exc}")
    if os.geteuid() == 0:
        entry = pwd.getpwnam(USER)
        for path in (directory, files.cert, files.key):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    files.key.chmod(0o600)  # PostgreSQL refuses a key others can read
    yield files
    shutil.rmtree(directory, ignore_errors=True)


def url_of(server: PostgresProcess, **options: str) -> str:
    query = "&".join(f"{name}={value}" for name, value in {"connect_timeout": "3", **options}.items())
    return f"postgresql://{USER}:{SECRET}@127.0.0.1:{server.port}/postgres?create_table=true&{query}"


async def start_error(url: str) -> SessionKVError:
    """The error ``start()`` raises on ``url``: one line, without the password."""
    store = PostgresStore(url, namespace=namespace())
    with pytest.raises(SessionKVError) as info:
        await store.start()
    message = str(info.value)
    assert "\n" not in message and SECRET not in message and SECRET not in repr(store), message
    return info.value


async def test_verify_full_with_the_ca_connects_over_tls_and_a_foreign_ca_is_refused(
    postgres_process: StartPostgres, server_tls: TLSFiles, tmp_path: Path
) -> None:
    server = postgres_process("ssl=on", f"ssl_cert_file={server_tls.cert}", f"ssl_key_file={server_tls.key}")
    async with PostgresStore(url_of(server, sslmode="verify-full", sslrootcert=str(server_tls.ca))) as store:
        await store.set("k", b"v", 60)
        async with store.pool.acquire() as conn:
            assert await conn.fetchval("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()") is True
        await store.delete(["k"])
    foreign = make_tls_files(tmp_path)  # another CA, which did not sign the server's certificate
    refused = await start_error(url_of(server, sslmode="verify-full", sslrootcert=str(foreign.ca)))
    assert isinstance(refused, StoreError) and "certificate verify failed" in str(refused), refused


async def test_sslmode_require_on_a_server_without_tls_is_refused(postgres_process: StartPostgres) -> None:
    server = postgres_process()
    refused = await start_error(url_of(server, sslmode="require"))
    assert isinstance(refused, StoreError) and "rejected SSL upgrade" in str(refused), refused
    async with PostgresStore(url_of(server, sslmode="disable")) as plain:  # the same server, TLS off: fine
        await plain.get("k")
