"""EtcdStore's versioned writes: versions are mod_revisions, conditional writes are never retried once sent,
and a get_versioned/cas counter loses nothing from 2 processes x 8 tasks (one member, and a 3-member cluster
with each process talking to a different member first)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from contended_counter import count_from_processes

from servers.availability import server_unavailable
from servers.ladder import Endpoint
from sessionkv import StoreError
from sessionkv_etcd import wire
from sessionkv_etcd.gateway import ROUNDS, EtcdOutcomeUnknownError, EtcdUnavailableError
from sessionkv_etcd.store import EtcdStore

pytestmark = pytest.mark.asyncio

PROCESSES, TASKS, INCREMENTS = 2, 8, 5


def namespace() -> str:
    return f"v-{uuid.uuid4().hex[:12]}:"


@pytest_asyncio.fixture
async def store(etcd_server: Endpoint) -> AsyncIterator[EtcdStore]:
    async with EtcdStore(etcd_server.url, namespace=namespace()) as opened:
        yield opened
        await opened.delete(await opened.keys(""))


async def test_versions_are_mod_revisions_and_cas_returns_the_new_one(store: EtcdStore) -> None:
    assert await store.add("k", b"1", 60) is True
    first = await store.get_versioned("k")
    assert first is not None and isinstance(first.version, int)
    raw = await store.gateway.call("/kv/range", wire.range_request((store.namespace + "k").encode()))
    assert int(wire.kvs_of(raw)[0]["mod_revision"]) == first.version
    second = await store.cas("k", b"2", 60, version=first.version)
    assert isinstance(second, int) and second > first.version
    current = await store.get_versioned("k")
    assert current is not None and current.version == second
    await store.delete(["k"])
    assert await store.add("k", b"again", 60) is True
    recreated = await store.get_versioned("k")
    assert recreated is not None and recreated.version not in (first.version, second), "a revision was reused"


async def test_cas_and_add_attach_the_key_to_a_lease_for_its_ttl(store: EtcdStore) -> None:
    await store.add("added", b"v", 30)
    version = await store.cas("cased", b"v", 30, version=None)
    assert version is not None
    for key in ("added", "cased"):
        raw = await store.gateway.call("/kv/range", wire.range_request((store.namespace + key).encode()))
        lease = wire.kvs_of(raw)[0].get("lease")
        assert lease, f"{key} was written without a lease: it would never expire"
        ttl = int((await store.gateway.call("/kv/lease/timetolive", {"ID": lease}))["TTL"])
        assert 30 <= ttl <= 30 + 2, f"{key}'s lease has {ttl} s left for a 30 s ttl"


@pytest.mark.parametrize("foreign", [0, -3, True, "7", 7.0, ("x",)])
async def test_a_version_this_store_never_hands_out_matches_nothing(store: EtcdStore, foreign: Any) -> None:
    version = await store.cas("k", b"v", 60, version=None)
    assert version is not None
    assert await store.cas("k", b"w", 60, version=foreign) is None
    assert await store.cas("absent", b"w", 60, version=foreign) is None, "a foreign version created a key"
    assert await store.delete_if("k", foreign) is False
    assert await store.mget(["k", "absent"]) == [b"v", None]


#: What ``DroppingServer`` answers: the version probe and lease grants.
ANSWERS = {"/version": b'{"etcdserver":"3.4.23","etcdcluster":"3.4.0"}', "/v3/lease/grant": b'{"ID":"7","TTL":"61"}'}


class DroppingServer:
    """Answers etcd's version probe and lease grants; reads every other request and closes the connection unanswered:
    the request reached the server and no reply came back, so a write may or may not have been applied."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"etcd://127.0.0.1:{port}?timeout=5"

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in head.lower().split(b"\r\n")
                        if line.startswith(b"content-length")
                    ),
                    0,
                )
                await reader.readexactly(length)
                path = head.split(b" ")[1].decode()
                body = ANSWERS.get(path)
                if body is None:
                    self.requests.append(path)
                    return
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
                )
                writer.write(body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


async def test_a_conditional_write_is_not_retried_once_it_may_have_landed() -> None:
    dropping = DroppingServer()
    async with dropping as url, EtcdStore(url, namespace=namespace()) as store:
        for call in (
            lambda: store.add("k", b"v", 60),
            lambda: store.cas("k", b"v", 60, version=5),
            lambda: store.delete_if("k", 5),
        ):
            dropping.requests.clear()
            with pytest.raises(StoreError, match="may have been applied") as info:
                await asyncio.wait_for(call(), 10)
            assert isinstance(info.value.__cause__, EtcdOutcomeUnknownError)
            assert dropping.requests == ["/v3/kv/txn"], "an ambiguous conditional write was sent again"
        dropping.requests.clear()
        with pytest.raises(StoreError) as info:  # a read is safe to retry: it is, ROUNDS times
            await asyncio.wait_for(store.get_versioned("k"), 10)
        assert type(info.value.__cause__) is EtcdUnavailableError
        assert dropping.requests == ["/v3/kv/range"] * ROUNDS


async def test_counter_from_two_processes_loses_no_increment(etcd_server: Endpoint) -> None:
    await count_from_processes([etcd_server.url] * PROCESSES, namespace(), tasks=TASKS, increments=INCREMENTS)


async def test_counter_from_two_processes_on_different_cluster_members(etcd_cluster: Endpoint) -> None:
    scheme, hosts = etcd_cluster.url.split("://", 1)
    members = hosts.split("?", 1)[0].split(",")
    if len(members) < 2 or "@" in hosts:
        server_unavailable("needs a cluster URL listing several members, without credentials")
    # each process talks to a different member first: compares are decided by the one raft log anyway
    urls = [etcd_cluster.url, f"{scheme}://{','.join(reversed(members))}"]
    await count_from_processes(urls, namespace(), tasks=TASKS, increments=INCREMENTS)
