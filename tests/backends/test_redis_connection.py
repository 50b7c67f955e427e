"""RedisStore connections: StoreError on failures (cause chained, password hidden), reconnection after a
server restart, client ownership, pool options, unix sockets and databases, on real redis-servers."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
import redis.exceptions

from servers.availability import server_unavailable
from servers.process import ServerProcess, free_port
from servers.redis import RedisEndpoint
from servers.tls import make_tls_files
from sessionkv import StoreError, StoreNotStartedError
from sessionkv_redis.scan import SCAN_COUNT
from sessionkv_redis.store import RedisStore
from sessionkv_redis.versions import HEADER_SIZE, strip

pytestmark = pytest.mark.asyncio

PASSWORD = "hunter2-s3cret"
StartRedis = Callable[..., ServerProcess]


def namespace() -> str:
    return f"c-{uuid.uuid4().hex[:12]}:"


async def client_names(url: str) -> list[str]:
    """Names of the connections the server currently has (CLIENT LIST)."""
    async with aioredis.Redis.from_url(url) as admin:
        return [c["name"] for c in await admin.client_list()]


async def test_dead_port_raises_store_error_without_password() -> None:
    store = RedisStore(f"redis://:{PASSWORD}@127.0.0.1:{free_port()}/0?retries=0&socket_connect_timeout=1")
    with pytest.raises(StoreError) as info:
        await store.start()
    assert isinstance(info.value.__cause__, redis.exceptions.ConnectionError)
    assert "connect" in str(info.value) and PASSWORD not in str(info.value) and "***" in str(info.value)
    with pytest.raises(StoreNotStartedError):
        await store.get("k")


async def test_dead_cluster_raises_store_error_without_password() -> None:
    store = RedisStore(f"redis+cluster://:{PASSWORD}@127.0.0.1:{free_port()},127.0.0.1:{free_port()}?retries=0")
    with pytest.raises(StoreError) as info:
        await store.start()
    assert isinstance(info.value.__cause__, redis.exceptions.RedisClusterException)
    assert PASSWORD not in str(info.value)


async def test_server_restart_on_same_port_reconnects(redis_process: StartRedis) -> None:
    server = redis_process()
    url = f"redis://127.0.0.1:{server.port}/0?retries=0"
    async with RedisStore(url, namespace=namespace()) as store:
        await store.set("k", b"before", 10)
        server.stop()
        with pytest.raises(StoreError) as info:
            await store.get("k")
        assert isinstance(info.value.__cause__, redis.exceptions.ConnectionError)
        server.start()  # same port, same dir; data is gone (no persistence)
        assert await store.get("k") is None
        await store.set("k", b"after", 10)
        assert await store.get("k") == b"after"


async def test_restart_between_calls_is_transparent_with_retries(redis_process: StartRedis) -> None:
    server = redis_process()
    async with RedisStore(f"redis://127.0.0.1:{server.port}/0", namespace=namespace()) as store:
        await store.set("k", b"v", 10)
        server.restart()
        await store.set("k", b"v2", 10)  # the stale pooled connection fails, the retry reconnects
        assert await store.get("k") == b"v2"


async def test_timeout_raises_store_error(redis_process: StartRedis) -> None:
    server = redis_process("--enable-debug-command", "yes")
    url = f"redis://127.0.0.1:{server.port}/0?socket_timeout=0.1&retries=0"
    async with RedisStore(url, namespace=namespace()) as store, aioredis.Redis(port=server.port) as admin:
        sleeper = asyncio.ensure_future(admin.execute_command("DEBUG", "SLEEP", "0.3"))  # type: ignore[no-untyped-call]
        await asyncio.sleep(0.05)
        with pytest.raises(StoreError) as info:
            await store.get("k")
        assert isinstance(info.value.__cause__, redis.exceptions.TimeoutError)
        await sleeper
        assert await store.get("k") is None  # usable again once the server answers


async def test_password_protected_server(redis_process: StartRedis) -> None:
    server = redis_process("--requirepass", PASSWORD)
    async with RedisStore(f"redis://:{PASSWORD}@127.0.0.1:{server.port}/0", namespace=namespace()) as store:
        await store.set("k", b"v", 10)
        assert await store.get("k") == b"v"
        assert PASSWORD not in repr(store)
    wrong = "not-the-" + PASSWORD
    store = RedisStore(f"redis://:{wrong}@127.0.0.1:{server.port}/0?retries=0")
    with pytest.raises(StoreError) as info:
        await store.start()
    assert isinstance(info.value.__cause__, redis.exceptions.AuthenticationError)
    assert wrong not in str(info.value) and PASSWORD not in str(info.value)


async def test_borrowed_client_stays_open(redis_server: RedisEndpoint) -> None:
    client = aioredis.Redis.from_url(redis_server.url)
    try:
        async with RedisStore(client, namespace=namespace()) as store:
            assert not store.owns_client and store.client is client
            await store.set("k", b"v", 10)
        with pytest.raises(StoreNotStartedError):
            _ = store.client
        assert strip(await client.get(store.namespace + "k")) == b"v"  # still usable after the store closed
    finally:
        await client.aclose()


async def test_owned_client_is_closed(redis_server: RedisEndpoint) -> None:
    name = f"owned-{uuid.uuid4().hex[:8]}"
    store = RedisStore(redis_server.url, namespace=namespace(), client_name=name)
    async with store:
        await asyncio.gather(*(store.get(f"k{i}") for i in range(5)))
        assert name in await client_names(redis_server.url)
    for _ in range(50):
        if name not in await client_names(redis_server.url):
            break
        await asyncio.sleep(0.02)
    assert name not in await client_names(redis_server.url)
    async with store:  # a closed store can be started again
        await store.set("k", b"v", 10)
        assert await store.get("k") == b"v"


async def test_max_connections_queues_callers(redis_server: RedisEndpoint) -> None:
    name = f"pool-{uuid.uuid4().hex[:8]}"
    async with RedisStore(redis_server.url, namespace=namespace(), client_name=name, max_connections=2) as store:
        await store.mset([(f"k{i}", b"v", 10) for i in range(50)])
        results = await asyncio.gather(*(store.get(f"k{i}") for i in range(50)))
        assert results == [b"v"] * 50
        assert 1 <= (await client_names(redis_server.url)).count(name) <= 2


async def test_database_number_from_path(redis_process: StartRedis) -> None:
    server = redis_process()
    async with (
        RedisStore(f"redis://127.0.0.1:{server.port}/3", namespace="db:") as store,
        aioredis.Redis(port=server.port, db=3) as db3,
        aioredis.Redis(port=server.port, db=0) as db0,
    ):
        await store.set("k", b"v", 10)
        assert strip(await db3.get("db:k")) == b"v" and await db0.get("db:k") is None


async def test_unix_socket_with_db_option(redis_process: StartRedis, tmp_path: Path) -> None:
    sock = tmp_path / "redis.sock"
    server = redis_process("--unixsocket", str(sock), "--unixsocketperm", "700")
    async with (
        RedisStore(f"unix://{sock}?db=2", namespace="u:") as store,
        aioredis.Redis(port=server.port, db=2) as db2,
    ):
        await store.set("k", b"v", 10)
        assert await store.get("k") == b"v" and strip(await db2.get("u:k")) == b"v"
        assert await store.keys() == ["k"]


async def test_every_operation_reports_store_error_after_the_server_dies(redis_process: StartRedis) -> None:
    server = redis_process()
    async with RedisStore(f"redis://:{PASSWORD}@127.0.0.1:{server.port}/0?retries=0", namespace="x:") as store:
        await store.set("k", b"v", 10)
        server.stop()
        calls: list[Callable[[], Any]] = [
            lambda: store.set("k", b"v", 1),
            lambda: store.mset([("k", b"v", 1)]),
            lambda: store.get("k"),
            lambda: store.mget(["k"]),
            lambda: store.expire("k", ttl=1),
            lambda: store.touch(["k"], 1),
            lambda: store.keys(),
            lambda: store.delete(["k"]),
        ]
        for call in calls:
            with pytest.raises(StoreError) as info:
                await call()
            assert info.value.__cause__ is not None and PASSWORD not in str(info.value)


async def test_value_limit_falls_back_to_512_mib_without_config(redis_process: StartRedis) -> None:
    server = redis_process("--rename-command", "CONFIG", "")  # as on managed services
    async with RedisStore(f"redis://127.0.0.1:{server.port}/0", namespace=namespace()) as store:
        assert store.capabilities.max_value_size == 512 * 1024 * 1024 - HEADER_SIZE
        await store.set("k", b"v", 10)
        assert await store.get("k") == b"v"


async def test_rediss_with_ca_and_certificate_checks(redis_process: StartRedis, tmp_path: Path) -> None:
    try:
        tls = make_tls_files(tmp_path)
    except (FileNotFoundError, subprocess.CalledProcessError) as exc:
        server_unavailable(f"cannot make test certificates with openssl: {exc}")
    files = ["--tls-cert-file", str(tls.cert), "--tls-key-file", str(tls.key), "--tls-ca-cert-file", str(tls.ca)]
    port = free_port()
    server = redis_process(
        "--port", "0", "--tls-port", str(port), *files, "--tls-auth-clients", "no", port=port, ready=None
    )
    base = f"rediss://:{PASSWORD}@127.0.0.1:{server.port}/0"
    async with RedisStore(f"{base}?ssl_ca_certs={tls.ca}", namespace=namespace()) as store:
        await store.set("k", b"v", 10)
        assert await store.get("k") == b"v"
    untrusted = RedisStore(f"{base}?retries=0")  # the system CAs do not know our test CA
    with pytest.raises(StoreError) as info:
        await untrusted.start()
    assert "certificate" in str(info.value).lower() and PASSWORD not in str(info.value)
    async with RedisStore(f"{base}?ssl_cert_reqs=none", namespace=namespace()) as unchecked:
        assert await unchecked.get("k") is None


@pytest.mark.parametrize("disabled", [["EVAL"], ["EVAL", "EVALSHA"]])
async def test_touch_falls_back_to_a_pipeline_when_eval_is_disabled(
    redis_process: StartRedis, disabled: list[str]
) -> None:
    renames = [arg for command in disabled for arg in ("--rename-command", command, "")]
    server = redis_process(*renames)  # scripting refused, as on some managed services
    async with RedisStore(f"redis://127.0.0.1:{server.port}/0", namespace=namespace()) as store:
        refused = "EVALSHA" in disabled  # EVAL alone: the store's scripts still run by EVALSHA
        assert store.capabilities.directory_listing == ("scan" if refused else "indexed")  # known from start()
        await store.mset([("a", b"1", 0.5), ("c", b"3", 0.5), ("d/x", b"4", 30)])
        assert await store.touch(["a", "b", "c"], 30) == ["b"]
        assert await store.touch(["a", "b"], 30) == ["b"]
        await asyncio.sleep(0.6)
        assert await store.mget(["a", "b", "c"]) == [b"1", None, b"3"]
        assert await store.keys("d/") == ["d/x"]
        assert store.keys_examined % SCAN_COUNT == 0 if refused else store.keys_examined == 1
