"""EtcdStore under faults: a killed server gives a bounded StoreError and the same store finds its data after
a restart (SIGSTOP and the faults common to every backend: tests/hardening/test_hardening_faults.py); in a
3-member cluster, losing a member is invisible to callers, and a cas sent to a member that froze is reported as
unknown (never re-sent) while the next one goes elsewhere."""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from collections.abc import Callable

import pytest

from servers.availability import server_unavailable
from servers.ladder import Endpoint
from servers.process import ServerProcess, free_port
from sessionkv import StoreError, StoreNotStartedError
from sessionkv_etcd.gateway import EtcdUnavailableError
from sessionkv_etcd.store import EtcdStore

pytestmark = pytest.mark.asyncio

StartEtcd = Callable[..., ServerProcess]
TIMEOUT = 1.0
#: A call must end (answer or StoreError) within its timeout plus this; beyond it, it hangs.
HANG = 3 * TIMEOUT + 2.0


def namespace() -> str:
    return f"f-{uuid.uuid4().hex[:12]}:"


def own_cluster(endpoint: Endpoint) -> list[ServerProcess]:
    """The 3 members this test session started (a cluster given by URL cannot be stopped: the test skips)."""
    if len(endpoint.processes) != 3:
        server_unavailable("needs the 3-member cluster this test session started (SESSIONKV_ETCD_CLUSTER_URL is set)")
    return endpoint.processes


def frozen_first(members: list[ServerProcess]) -> tuple[ServerProcess, str]:
    """The member to freeze, and a URL listing it first so the store talks to it before failing over."""
    frozen = members[1]
    hosts = ",".join(f"{p.host}:{p.port}" for p in [frozen, *(m for m in members if m is not frozen)])
    return frozen, f"etcd://{hosts}?timeout=3"


async def test_dead_endpoint_raises_store_error_with_cause() -> None:
    store = EtcdStore(f"etcd://root:pw-s3cret@127.0.0.1:{free_port()}?timeout=1")
    with pytest.raises(StoreError) as info:
        await asyncio.wait_for(store.start(), HANG)
    assert isinstance(info.value.__cause__, EtcdUnavailableError) and info.value.__cause__.__cause__ is not None
    assert "connect" in str(info.value) and "pw-s3cret" not in str(info.value)
    with pytest.raises(StoreNotStartedError):
        await store.get("k")


async def test_sigkill_then_restart_same_store_recovers(etcd_process: StartEtcd) -> None:
    server = etcd_process()
    async with EtcdStore(f"etcd://127.0.0.1:{server.port}?timeout={TIMEOUT}", namespace=namespace()) as store:
        await store.set("k", b"v", 600)
        assert server.pid is not None
        os.kill(server.pid, signal.SIGKILL)
        await asyncio.sleep(0.1)
        for call in (store.get("k"), store.set("k2", b"v", 60), store.touch(["k"], 60), store.keys("")):
            with pytest.raises(StoreError) as info:
                await asyncio.wait_for(call, HANG)
            assert info.value.__cause__ is not None
        server.restart()  # same port and data dir
        assert await asyncio.wait_for(store.get("k"), HANG) == b"v"
        await store.set("k2", b"w", 60)
        assert sorted(await store.keys("")) == ["k", "k2"]


async def test_cluster_member_loss_is_invisible_to_callers(etcd_cluster: Endpoint) -> None:
    own_cluster(etcd_cluster)
    url = f"{etcd_cluster.url}?timeout=2"
    async with EtcdStore(url, namespace=namespace()) as store:
        first = etcd_cluster.processes[0]  # the member the store talks to first
        try:
            for i in range(60):
                if i == 20:
                    first.stop()
                if i == 40:
                    assert store.gateway.endpoint != store.gateway.endpoints[0], "the store did not fail over"
                await asyncio.wait_for(store.set(f"k{i}", b"%d" % i, 60), HANG)
                assert await asyncio.wait_for(store.get(f"k{i}"), HANG) == b"%d" % i
                assert await asyncio.wait_for(store.touch([f"k{i}", "missing"], 60), HANG) == ["missing"]
            assert len(await store.keys("")) == 60
        finally:
            first.start()
            await store.delete(await store.keys(""))


async def test_cluster_member_frozen_is_skipped_within_the_timeout(etcd_cluster: Endpoint) -> None:
    frozen, url = frozen_first(own_cluster(etcd_cluster))
    async with EtcdStore(url, namespace=namespace()) as store:
        assert frozen.pid is not None
        os.kill(frozen.pid, signal.SIGSTOP)
        try:
            for i in range(10):
                await asyncio.wait_for(store.set(f"k{i}", b"v", 60), HANG)
            assert await store.mget([f"k{i}" for i in range(10)]) == [b"v"] * 10
        finally:
            os.kill(frozen.pid, signal.SIGCONT)
            await store.delete(await store.keys(""))


async def increments(store: EtcdStore, count: int) -> tuple[list[int], int]:
    """``count`` get_versioned/cas increments of "counter": the numbers written, and how many ended unknown."""
    written: list[int] = []
    unknown = 0
    while len(written) < count:
        current = await asyncio.wait_for(store.get_versioned("counter"), HANG)
        number = int(current.value) + 1 if current is not None else 1
        version = current.version if current is not None else None
        try:
            if await asyncio.wait_for(store.cas("counter", b"%d" % number, 60, version=version), HANG) is not None:
                written.append(number)
        except StoreError as exc:
            assert "may have been applied" in str(exc), f"a cas failed for another reason: {exc}"
            unknown += 1
    return written, unknown


async def test_cas_fails_over_from_a_stopped_member_without_losing_increments(etcd_cluster: Endpoint) -> None:
    own_cluster(etcd_cluster)
    async with EtcdStore(f"{etcd_cluster.url}?timeout=2", namespace=namespace()) as store:
        first = etcd_cluster.processes[0]
        try:
            before, unknown_before = await increments(store, 10)
            first.stop()
            after, unknown_after = await increments(store, 10)
            assert store.gateway.endpoint != store.gateway.endpoints[0], "the store did not fail over"
            unknown = unknown_before + unknown_after
            assert unknown <= 1, "only a cas on a connection the stopped member dropped may end unknown"
            written = before + after
            assert len(set(written)) == 20 and written == sorted(written), "two cas calls wrote the same number"
            final = int(await store.get("counter") or b"0")
            assert final - unknown <= 20 <= final, f"counter {final} after 20 increments ({unknown} unknown)"
        finally:
            first.start()
            await store.delete(await store.keys(""))


async def test_cas_to_a_frozen_member_is_not_resent_and_the_next_goes_elsewhere(etcd_cluster: Endpoint) -> None:
    frozen, url = frozen_first(own_cluster(etcd_cluster))
    async with EtcdStore(url, namespace=namespace()) as store:
        await store.set("warm-up", b"v", 60)  # connected to the first member, with a lease the add reuses
        assert frozen.pid is not None
        os.kill(frozen.pid, signal.SIGSTOP)
        try:
            with pytest.raises(StoreError, match="may have been applied"):
                await asyncio.wait_for(store.add("sent-to-frozen", b"v", 60), HANG)
            assert store.gateway.endpoint != store.gateway.endpoints[0], "the next request would go to it again"
            assert await asyncio.wait_for(store.add("next", b"v", 60), HANG) is True
            current = await store.get_versioned("next")
            assert current is not None
            assert await store.cas("next", b"w", 60, version=current.version) is not None
        finally:
            os.kill(frozen.pid, signal.SIGCONT)
            await store.delete(await store.keys(""))
