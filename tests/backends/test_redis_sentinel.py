"""redis+sentinel:// on real groups (a primary, a replica, three sentinels): URLs, passwords, and failovers.

The failover tests own their group (``sentinel_group``) and SIGKILL or freeze (SIGSTOP) its primary by PID.
Every store call runs under ``asyncio.wait_for(..., CALL_BOUND)``: a call that hangs fails the test. How
long a failover takes is not asserted (it depends on the machine): recovery must come within
``RECOVERY_BOUND`` seconds of the kill, a bound far above the 2-6 s measured, that only catches a store
that never recovers.
"""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from collections.abc import Awaitable
from typing import Any, TypeVar

import pytest
import redis.asyncio as aioredis

from servers.ladder import Endpoint
from servers.redis_sentinel_process import SentinelGroup
from sessionkv import ConfigurationError, SessionRegistry, StoreError, StoreURL, open_store
from sessionkv_redis.config import RedisConfig
from sessionkv_redis.sentinel import GuardedSentinelPool
from sessionkv_redis.store import SINGLE_NODE_CAPABILITIES, RedisStore

T = TypeVar("T")

#: No store call may take longer than this (socket_timeout is 2 s in these tests; retries add < 2 s).
CALL_BOUND = 8.0
#: The store must work on the promoted replica within this many seconds of the kill (measured: 2-6 s).
RECOVERY_BOUND = 30.0
FAST = "socket_timeout=2&socket_connect_timeout=1"


def unique_namespace() -> str:
    return f"sent-{uuid.uuid4().hex[:10]}:"


async def bounded(call: Awaitable[T]) -> T:
    """``call``, failing the test if it does not finish within ``CALL_BOUND`` seconds (a hang)."""
    try:
        return await asyncio.wait_for(call, CALL_BOUND)
    except TimeoutError:
        pytest.fail(f"a store call hung for more than {CALL_BOUND} s")


def config(url: str, **overrides: Any) -> RedisConfig:
    return RedisConfig.from_url(StoreURL.parse(url), overrides)


# -- URLs and options (no server) -----------------------------------------------------------------


def test_url_names_the_sentinels_the_service_and_the_database() -> None:
    cfg = config("redis+sentinel://:pw@10.0.0.1:26380,10.0.0.2/prod-cache/3?sentinel_password=spw")
    assert cfg.sentinel is not None and cfg.sentinel.service == "prod-cache"
    assert cfg.connection["db"] == 3 and cfg.connection["password"] == "pw"
    assert cfg.sentinel.sentinel_kwargs["password"] == "spw"
    assert [(h.host, h.port) for h in cfg.url.hosts] == [("10.0.0.1", 26380), ("10.0.0.2", None)]
    assert not cfg.cluster
    assert config("redis+sentinel://h/svc").connection["db"] == 0
    assert config("redis+sentinel://h/svc?db=2").connection["db"] == 2


def test_sentinel_password_never_shows() -> None:
    url = "redis+sentinel://:nodepw@h:26379/svc?sentinel_password=sentinelpw"
    store = RedisStore(url)
    shown = f"{store!r} {store._where()} {config(url)!r}"
    assert "sentinelpw" not in shown and "nodepw" not in shown and "***" in shown
    with pytest.raises(ConfigurationError) as bad:
        RedisStore("redis+sentinel://h:26379/svc?sentinel_password=sentinelpw&ssl_certfile=/x")
    assert "sentinelpw" not in str(bad.value) and "ssl=true" in str(bad.value)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("redis+sentinel://h:26379", "needs the monitored service"),
        ("redis+sentinel://h:26379/", "needs the monitored service"),
        ("redis+sentinel://h:26379/svc/x", "must be a number"),
        ("redis+sentinel://h:26379/svc/1/2", "needs the monitored service"),
        ("redis+sentinel://h:26379/svc/1?db=2", "database given twice"),
        ("redis+sentinel:///svc", "at least one sentinel"),
        ("redis://h/0?sentinel_password=x", "applies only to redis+sentinel://"),
    ],
)
def test_bad_urls_fail_in_one_line(url: str, message: str) -> None:
    with pytest.raises(ConfigurationError) as bad:
        RedisStore(url)
    assert message in str(bad.value) and "\n" not in str(bad.value)


def test_tls_reaches_sentinels_and_nodes() -> None:
    cfg = config("redis+sentinel://h/svc?ssl=true&ssl_ca_certs=/ca.pem&ssl_cert_reqs=none")
    assert cfg.sentinel is not None
    assert cfg.connection["ssl"] is True and cfg.connection["ssl_ca_certs"] == "/ca.pem"
    assert cfg.sentinel.sentinel_kwargs["ssl"] is True and cfg.sentinel.sentinel_kwargs["ssl_cert_reqs"] == "none"
    assert "ssl" not in config("redis+sentinel://h/svc").sentinel.sentinel_kwargs  # type: ignore[union-attr]


# -- the session group ----------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_opened_by_url_with_single_node_capabilities(redis_sentinel: Endpoint) -> None:
    async with open_store(redis_sentinel.url, namespace=unique_namespace()) as store:
        assert isinstance(store, RedisStore)
        assert store.capabilities.linearizable is False and store.capabilities.fencing == "best_effort"
        assert store.capabilities.atomic_mset == SINGLE_NODE_CAPABILITIES.atomic_mset
        await store.set("a/1", b"v", 5)
        assert await store.get("a/1") == b"v" and await store.keys("a/") == ["a/1"]
        assert isinstance(store.client.connection_pool, GuardedSentinelPool)


@pytest.mark.asyncio
async def test_close_closes_the_sentinel_connections_too(redis_sentinel: Endpoint) -> None:
    store = RedisStore(redis_sentinel.url, namespace=unique_namespace())
    await store.start()
    pool = store.client.connection_pool
    assert isinstance(pool, GuardedSentinelPool)
    sentinels = pool.sentinel_manager.sentinels
    assert any(s.connection_pool._available_connections for s in sentinels)  # discovery used them
    await store.close()
    for sentinel in sentinels:
        assert not any(c.is_connected for c in sentinel.connection_pool._available_connections)


@pytest.mark.asyncio
async def test_passwords_for_nodes_and_sentinels(sentinel_group: Any) -> None:
    group: SentinelGroup = sentinel_group(
        primary_args=("--requirepass", "node-pw", "--masterauth", "node-pw"),
        sentinel_conf=("requirepass sent-pw", "sentinel auth-pass mymaster node-pw"),
        password="node-pw",
        sentinel_password="sent-pw",
    )
    hosts = ",".join(f"{s.host}:{s.port}" for s in group.sentinels)
    url = f"redis+sentinel://:node-pw@{hosts}/mymaster/0?sentinel_password=sent-pw&{FAST}"
    async with open_store(url, namespace=unique_namespace()) as store:
        await bounded(store.set("k", b"v", 5))
        assert await bounded(store.get("k")) == b"v"
    wrong = RedisStore(f"redis+sentinel://:node-pw@{hosts}/mymaster/0?sentinel_password=nope&{FAST}")
    with pytest.raises(StoreError) as failed:
        await bounded(wrong.start())
    message = str(failed.value)
    assert "AuthenticationError" in message and "\n" not in message and len(message) < 1000
    assert "nope" not in message and "node-pw" not in message


# -- failovers --------------------------------------------------------------------------------------


async def replicated(store: RedisStore) -> int:
    """Wait until the primary's writes so far reached the replica (``WAIT 1``); returns the replicas that did."""
    return int(await store.client.execute_command("WAIT", 1, 5000))


@pytest.mark.asyncio
async def test_sigkill_of_the_primary_the_same_store_goes_on_on_the_promoted_replica(sentinel_group: Any) -> None:
    group: SentinelGroup = sentinel_group()
    old = group.current_primary()
    assert old is not None
    loop = asyncio.get_running_loop()
    async with open_store(f"{group.url}?{FAST}", namespace=unique_namespace()) as store:
        assert isinstance(store, RedisStore)
        for i in range(50):
            await bounded(store.set(f"w/{i}", b"before", 60))
        assert await replicated(store) == 1  # these 50 are on the replica: they must survive

        group.kill_primary()
        killed_at = loop.time()
        outcomes: list[tuple[float, bool]] = []  # (seconds after the kill, succeeded) of every write
        i = 50
        while sum(ok for _, ok in outcomes) < 50:
            assert loop.time() - killed_at < RECOVERY_BOUND, f"no recovery within {RECOVERY_BOUND} s: {outcomes[-3:]}"
            try:
                await bounded(store.set(f"w/{i}", b"after", 60))
                outcomes.append((loop.time() - killed_at, True))
            except StoreError:
                outcomes.append((loop.time() - killed_at, False))
                await asyncio.sleep(0.05)
            i += 1
        first_ok = next(n for n, (_, ok) in enumerate(outcomes) if ok)
        assert all(ok for _, ok in outcomes[first_ok:]), "the store failed again after it had recovered"

        new = group.current_primary()
        assert new is not None and new != old and new == (group.replicas[0].host, group.replicas[0].port)
        before = await bounded(store.mget([f"w/{n}" for n in range(50)]))
        assert before == [b"before"] * 50  # acknowledged and replicated before the kill: kept
        keys = await bounded(store.keys("w/"))
        assert {f"w/{n}" for n in range(50)} <= set(keys)
        print(f"failover: first successful write {outcomes[first_ok][0]:.2f} s after SIGKILL, {first_ok} failed fast")


@pytest.mark.asyncio
async def test_a_frozen_primary_is_left_for_the_new_one_without_waiting_for_its_socket(sentinel_group: Any) -> None:
    """SIGSTOP looks like a partition: the old primary's sockets stay open and silent. After the sentinels
    promote the replica, the guarded pool's next check moves the store's connections to it; redis-py's own
    pool would reuse the open connection to the frozen node until socket_timeout (here: a failed call)."""
    group: SentinelGroup = sentinel_group()
    old = group.current_primary()
    assert old is not None
    opts = f"?{FAST}&retries=0"
    guarded = RedisStore(f"{group.url}{opts}&sentinel_check_interval=0.2", namespace=unique_namespace())
    unguarded = RedisStore(f"{group.url}{opts}&sentinel_check_interval=3600", namespace=unique_namespace())
    async with guarded, unguarded:
        for store in (guarded, unguarded):
            await bounded(store.set("k", b"before", 60))  # a pooled connection to the old primary
        frozen = group.data_node(old)
        assert frozen.pid is not None
        os.kill(frozen.pid, signal.SIGSTOP)
        try:
            await asyncio.to_thread(group.wait_for_new_primary, old, RECOVERY_BOUND)
            await asyncio.sleep(0.3)  # past the guarded store's check interval
            await bounded(guarded.set("k", b"after", 60))
            assert await bounded(guarded.get("k")) == b"after"
            pool = guarded.client.connection_pool
            assert isinstance(pool, GuardedSentinelPool) and pool.master_address != old
            with pytest.raises(StoreError, match="Timeout"):  # the unguarded one still talks to the frozen node
                await bounded(unguarded.set("k", b"lost", 60))
        finally:
            os.kill(frozen.pid, signal.SIGCONT)


@pytest.mark.asyncio
async def test_the_registry_re_registers_within_one_heartbeat_after_a_failover(sentinel_group: Any) -> None:
    group: SentinelGroup = sentinel_group()
    url = f"{group.url}?{FAST}&namespace={unique_namespace()}"
    async with SessionRegistry(open_store(url), node_id="node-a") as registry, open_store(url) as observer:
        for n in range(20):
            await bounded(registry.register("call-1", f"s{n}"))
        primary = group.current_primary()
        assert primary is not None
        before = aioredis.Redis(host=primary[0], port=primary[1])
        try:  # the replica has the records before the kill (a loaded CI run killed it before any arrived)
            assert await before.execute_command("WAIT", 1, 5000) == 1
        finally:
            await before.aclose()
        group.kill_primary()
        loop = asyncio.get_running_loop()
        killed_at = loop.time()
        while True:  # the application's other traffic finds the new primary (it fails fast meanwhile)
            assert loop.time() - killed_at < RECOVERY_BOUND
            try:
                await bounded(observer.get("probe"))
                break
            except StoreError:
                await asyncio.sleep(0.1)
        new = group.current_primary()
        assert new is not None
        # Writes the old primary acknowledged but never sent on are what a failover loses: make it all of them
        # (keys and directory indexes alike, as on a replica that was promoted before it got them).
        raw = aioredis.Redis(host=new[0], port=new[1])
        try:
            assert await raw.dbsize() > 0
            await raw.flushall()
        finally:
            await raw.aclose()
        assert await bounded(observer.keys("")) == []

        result = await bounded(registry.heartbeat())  # one heartbeat
        assert result.restored == 20
        async with SessionRegistry(observer, node_id="reader") as reader:
            sessions = await bounded(reader.get_for_call("call-1"))
            assert sorted(info.session_id for info in sessions) == sorted(f"s{n}" for n in range(20))
            assert "node-a" in [node.node_id for node in await bounded(reader.nodes())]
