"""EtcdStore security: etcds:// with a CA and with client certificates, and etcd user/password auth
(the password never shows in a repr or an error), on throwaway etcd processes."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from servers.availability import server_unavailable
from servers.etcd_process import enable_auth
from servers.process import ServerProcess
from servers.tls import TLSFiles, make_tls_files
from sessionkv import StoreError
from sessionkv_etcd.store import EtcdStore

pytestmark = pytest.mark.asyncio

StartEtcd = Callable[..., ServerProcess]
PASSWORD = "hunter2-s3cret"


def namespace() -> str:
    return f"s-{uuid.uuid4().hex[:12]}:"


@pytest.fixture
def tls(tmp_path: Path) -> TLSFiles:
    try:
        return make_tls_files(tmp_path)
    except FileNotFoundError:
        server_unavailable("openssl is needed to make test certificates")


async def test_etcds_with_ca_and_client_certificate(etcd_process: StartEtcd, tls: TLSFiles) -> None:
    server = etcd_process(
        "--cert-file", str(tls.cert), "--key-file", str(tls.key), "--client-cert-auth", "--trusted-ca-file", str(tls.ca)
    )
    base = f"etcds://127.0.0.1:{server.port}?ssl_ca_certs={tls.ca}"
    # The server certificate doubles as a client certificate: it is signed by the CA etcd trusts.
    async with EtcdStore(f"{base}&ssl_certfile={tls.cert}&ssl_keyfile={tls.key}", namespace=namespace()) as store:
        await store.set("k", b"v", 60)
        assert await store.get("k") == b"v"
        await store.delete(["k"])
    without_client_cert = EtcdStore(f"{base}&timeout=2")
    with pytest.raises(StoreError) as info:
        await without_client_cert.start()
    assert info.value.__cause__ is not None


async def test_etcds_rejects_a_server_the_ca_did_not_sign(etcd_process: StartEtcd, tls: TLSFiles) -> None:
    server = etcd_process("--cert-file", str(tls.cert), "--key-file", str(tls.key))
    async with EtcdStore(f"etcds://127.0.0.1:{server.port}?ssl_ca_certs={tls.ca}", namespace=namespace()) as store:
        await store.set("k", b"v", 60)
        await store.delete(["k"])
    untrusted = EtcdStore(f"etcds://127.0.0.1:{server.port}?timeout=2")  # system CAs only
    with pytest.raises(StoreError, match="connect") as info:
        await untrusted.start()
    assert "SSL" in repr(info.value.__cause__.__cause__) or "certificate" in str(info.value).lower()


async def test_missing_certificate_file_is_a_clear_error() -> None:
    store = EtcdStore("etcds://127.0.0.1:1?ssl_ca_certs=/nonexistent/ca.pem")
    with pytest.raises(StoreError, match="TLS files"):
        await store.start()


async def test_user_and_password_auth_never_shows_the_password(etcd_process: StartEtcd) -> None:
    server = etcd_process()
    enable_auth(server, PASSWORD)
    async with EtcdStore(f"etcd://root:{PASSWORD}@127.0.0.1:{server.port}", namespace=namespace()) as store:
        assert PASSWORD not in repr(store)
        await store.mset([("a", b"1", 60), ("b", b"2", 60)])
        assert await store.touch(["a", "b", "c"], 60) == ["c"]
        assert sorted(await store.keys("")) == ["a", "b"]
        await store.delete(["a", "b"])
    wrong = EtcdStore(f"etcd://root:not-{PASSWORD}@127.0.0.1:{server.port}?timeout=2")
    with pytest.raises(StoreError) as info:
        await wrong.start()
    assert PASSWORD not in str(info.value) and "***" in str(info.value)
    assert "authentication failed" in str(info.value)
    anonymous = EtcdStore(f"etcd://127.0.0.1:{server.port}?timeout=2")
    await anonymous.start()
    try:
        with pytest.raises(StoreError, match=r"user name is empty|permission denied"):
            await anonymous.get("a")
    finally:
        await anonymous.close()


async def test_expired_token_is_renewed(etcd_process: StartEtcd) -> None:
    server = etcd_process()
    enable_auth(server, PASSWORD)
    async with EtcdStore(f"etcd://root:{PASSWORD}@127.0.0.1:{server.port}", namespace=namespace()) as store:
        store.gateway._token = "not-a-valid-token"  # as after the server forgot it (restart, token TTL)
        await store.set("k", b"v", 60)
        assert await store.get("k") == b"v"
        await store.delete(["k"])
