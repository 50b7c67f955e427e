"""EtcdStore: URLs and options, key ranges, txn chunking and round trips, and leases (shared, reused,
swept, min_ttl true for a default-timer etcd), on real etcd servers."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import pytest_asyncio
from wire_spies import Requests, record_requests

from servers.etcd_process import gateway, lease_count
from servers.ladder import Endpoint
from servers.process import ServerProcess
from sessionkv import ConfigurationError, open_store
from sessionkv_etcd import wire
from sessionkv_etcd.gateway import EtcdRequestError, api_prefix, served_prefix
from sessionkv_etcd.leases import LATENESS, Lease, lease_seconds
from sessionkv_etcd.store import EtcdStore

StartEtcd = Callable[..., ServerProcess]
PASSWORD = "hunter2-s3cret"


def namespace() -> str:
    return f"t-{uuid.uuid4().hex[:12]}:"


@pytest_asyncio.fixture
async def store(etcd_server: Endpoint) -> AsyncIterator[EtcdStore]:
    async with EtcdStore(etcd_server.url, namespace=namespace()) as opened:
        yield opened
        await opened.delete(await opened.keys(""))


@pytest.fixture
def requests(monkeypatch: pytest.MonkeyPatch) -> Requests:
    return record_requests(monkeypatch)


# -- URLs and options (no server) ------------------------------------------------------------------


def test_url_endpoints_default_port_and_password_hidden() -> None:
    store = EtcdStore(f"etcd://root:{PASSWORD}@h1,h2:2380,[::1]:2381?namespace=app/&timeout=1.5")
    assert store._config.endpoints == ("http://h1:2379", "http://h2:2380", "http://[::1]:2381")
    assert store.namespace == "app/" and store._config.timeout == 1.5
    assert PASSWORD not in repr(store) and PASSWORD not in repr(store._config) and "***" in repr(store)
    assert EtcdStore("etcd://")._config.endpoints == ("http://127.0.0.1:2379",)
    assert EtcdStore("etcds://h?ssl_ca_certs=/ca.pem")._config.endpoints == ("https://h:2379",)
    assert isinstance(open_store("etcd://127.0.0.1:2379"), EtcdStore)


@pytest.mark.parametrize(
    ("url", "overrides", "match"),
    [
        ("etcd://h?ssl_ca_certs=/ca.pem", {}, "only to etcds://"),
        ("etcd://h/somepath", {}, "no path"),
        ("etcd://h?timeout=0", {}, "timeout"),
        ("etcd://h?bogus=1", {}, "unknown option"),
        ("etcd://h", {"timeout": "5"}, "timeout must be float"),
        ("etcd://root@h", {}, "both a user name and a password"),
        ("etcds://h?ssl_certfile=/c.pem", {}, "go together"),
        ("etcd://h:1,h:1", {}, "listed twice"),
    ],
)
def test_bad_urls_and_options_rejected(url: str, overrides: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        EtcdStore(url, **overrides)


def test_the_prefix_is_the_answering_members_not_the_clusters() -> None:
    """Until the leader settles it, a new or restarted cluster reports version 3.0.0: its members serve /v3."""
    assert served_prefix({"etcdserver": "3.4.23", "etcdcluster": "3.0.0"}) == "/v3"
    assert served_prefix({"etcdserver": "3.3.27", "etcdcluster": "3.3.0"}) == "/v3beta"
    assert served_prefix({"etcdcluster": "3.5.0"}) == "/v3"
    assert served_prefix({}) == "/v3"


@pytest.mark.asyncio
async def test_a_reply_that_is_not_json_names_the_path_and_what_came_back(etcd_server: Endpoint) -> None:
    """etcd answers a path it does not serve (the /v3alpha a wrong prefix took) with a text 404 page."""
    async with EtcdStore(etcd_server.url, namespace=namespace()) as store:
        with pytest.raises(EtcdRequestError) as info:
            await store._gateway.request("POST", "/v3alpha/kv/range", {"key": ""})
    message = str(info.value)
    assert "POST /v3alpha/kv/range answered '404 page not found', not JSON" in message, message
    assert "HTTP 404" in message


def test_api_prefix_follows_server_version() -> None:
    assert [api_prefix(v) for v in ("3.5.0", "3.4.0", "3.3.0", "3.2.0", "junk")] == [
        "/v3",
        "/v3",
        "/v3beta",
        "/v3alpha",
        "/v3",
    ]


# -- key ranges and chunking (pure) ------------------------------------------------------------------


def test_prefix_range_end_covers_exactly_the_prefix() -> None:
    assert wire.prefix_range_end(b"app:") == b"app;"
    assert wire.prefix_range_end(b"a\xff") == b"b"
    assert wire.prefix_range_end(b"a\xfe\xff\xff") == b"a\xff"
    assert wire.prefix_range_end(b"\xff\xff") == b"\0"  # no upper bound: every key >= the prefix
    assert wire.prefix_range_end(b"") == b"\0"


def test_chunks_respect_op_and_byte_limits() -> None:
    keys = list(range(500))
    assert [len(c) for c in wire.chunks(keys)] == [128, 128, 128, 116]
    assert [len(c) for c in wire.chunks(keys, ops_each=2)] == [64] * 7 + [52]
    big = wire.MAX_TXN_BYTES // 3 + 1
    assert [len(c) for c in wire.chunks(keys[:7], size=[big] * 7)] == [2, 2, 2, 1]
    assert [len(c) for c in wire.chunks([1], size=[10 * wire.MAX_TXN_BYTES])] == [1]


def test_lease_reuse_never_early_and_bounded_late() -> None:
    lease = Lease(1, lease_seconds(30), sent=100.0, received=100.01)
    assert lease.ttl == 31
    assert lease.reusable_for(30, now=100.2)  # ends 30.8 s from now: at most LATENESS late
    assert not lease.reusable_for(30, now=101.5)  # would end 29.5 s from now: early
    assert not lease.reusable_for(29, now=100.0)  # would end 2 s late: beyond LATENESS
    assert lease_seconds(2.0) == 3 and lease_seconds(2.8) == 4 and LATENESS < 2.0


# -- on a real etcd --------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_batches_are_chunked_txns_with_one_lease(store: EtcdStore, requests: Requests) -> None:
    keys = [f"k{i}" for i in range(300)]
    await store.mset([(key, key.encode(), 60) for key in keys])
    assert requests.paths().count("/lease/grant") == 1, "one lease for a batch of equal ttls"
    assert requests.txn_sizes() == [128, 128, 44]
    requests.sent.clear()
    assert await store.mget([*keys, "missing"]) == [key.encode() for key in keys] + [None]
    assert requests.txn_sizes() == [128, 128, 45]
    requests.sent.clear()
    assert await store.touch(["missing", *keys[:100], "gone"], 120) == ["missing", "gone"]
    assert requests.paths() == ["/lease/grant", "/kv/txn", "/kv/txn"], "one new lease, then 64 keys per txn"
    assert requests.txn_sizes() == [64, 38]
    requests.sent.clear()
    await store.delete(keys)
    assert requests.txn_sizes() == [128, 128, 44]
    assert await store.keys("") == []


@pytest.mark.asyncio
async def test_large_values_split_by_request_size(store: EtcdStore, requests: Requests) -> None:
    value = b"v" * (store.capabilities.max_value_size or 0)
    await store.mset([(f"big{i}", value, 60) for i in range(4)])
    assert len(requests.txn_sizes()) >= 3, "4 MiB of values cannot go in one 1.5 MiB request"
    assert await store.mget([f"big{i}" for i in range(4)]) == [value] * 4


@pytest.mark.asyncio
async def test_expire_moves_keys_to_one_new_lease_and_never_creates(store: EtcdStore) -> None:
    await store.mset([("a", b"1", 60), ("b", b"2", 600)])
    await store.expire("a", "b", "missing", ttl=3600)
    leases = set()
    for key in ("a", "b"):
        reply = await store.gateway.call("/kv/range", wire.range_request((store.namespace + key).encode()))
        leases.add(wire.kvs_of(reply)[0]["lease"])
    assert len(leases) == 1, "expire should move every key onto one lease"
    assert await store.mget(["a", "b", "missing"]) == [b"1", b"2", None]
    assert sorted(await store.keys("")) == ["a", "b"]


@pytest.mark.asyncio
async def test_keys_paged_and_bounded_by_prefix(
    etcd_server: Endpoint, store: EtcdStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(wire, "PAGE_SIZE", 7)
    names = [f"p{i:03d}" for i in range(50)] + ["q", "p", "ü-key", "p\U0001f600"]
    await store.mset([(name, b"x", 60) for name in names])
    base = store.namespace[:-1]
    async with EtcdStore(etcd_server.url, namespace=base + ";:") as neighbour:  # ';' follows ':' in byte order
        await neighbour.set("p-other", b"y", 60)
        try:
            assert sorted(await store.keys("")) == sorted(names)
            assert sorted(await store.keys("p")) == sorted(n for n in names if n.startswith("p"))
            assert await store.keys("p04") == [f"p{i:03d}" for i in range(40, 50)]
            assert await store.keys("none") == []
        finally:
            await neighbour.delete(["p-other"])


@pytest.mark.asyncio
async def test_many_expire_calls_leave_a_bounded_number_of_leases(etcd_process: StartEtcd) -> None:
    server = etcd_process()
    async with EtcdStore(f"etcd://127.0.0.1:{server.port}", namespace=namespace()) as store:
        await store.mset([(f"k{i}", b"v", 3600) for i in range(5)])
        for _ in range(40):
            await store.expire(*[f"k{i}" for i in range(5)], ttl=3600)
        assert lease_count(server) >= 40
        await asyncio.sleep(2.5)  # swept leases must be too old to be handed out again
        revoked = await store.leases.sweep()
        assert revoked >= 39
        assert lease_count(server) <= 2, "empty leases were left behind"
        assert store.leases.tracked <= 2
        assert await store.mget([f"k{i}" for i in range(5)]) == [b"v"] * 5, "a sweep revoked a lease with keys"


@pytest.mark.asyncio
async def test_close_revokes_the_leases_of_deleted_keys_and_keeps_the_others(etcd_process: StartEtcd) -> None:
    server = etcd_process()
    url = f"etcd://127.0.0.1:{server.port}"
    space = namespace()
    async with EtcdStore(url, namespace=space) as store:
        await store.set("kept", b"v", 3600)
        for n in range(5):  # a fresh lease each: expire moves the keys to a new lease
            await store.set(f"gone{n}", b"v", 3600)
            await store.expire(f"gone{n}", ttl=7200 + n)
        await store.delete([f"gone{n}" for n in range(5)])
        assert lease_count(server) >= 6
    # a year-long lease of a deleted key must not outlive the store that made it
    assert lease_count(server) == 1, "close left the leases of deleted keys on the server"
    async with EtcdStore(url, namespace=space) as again:
        assert await again.get("kept") == b"v", "close revoked a lease that still held a key"
        await again.delete(["kept"])


@pytest.mark.asyncio
async def test_declared_min_ttl_holds_for_default_raft_timers(etcd_process: StartEtcd) -> None:
    server = etcd_process(fast_raft=False)
    granted = gateway(server, "/v3/lease/grant", {"TTL": 1})
    assert int(granted["TTL"]) <= EtcdStore.capabilities.min_ttl, "etcd raised the lease above the declared min_ttl"
    assert int(granted["TTL"]) > 1, "a default etcd raises 1 s leases (min_ttl is the raised value)"
