"""Long-running use on every backend: keys that expire leave nothing behind on the server, listings stay exact.

Each backend gets TTL-cache churn across thousands of never-listed directories (``conv/<n>/state``,
``flat/<n>``, every tenth key also in the shared ``hot/``) beside ``LIVE_KEYS`` long-lived keys, then a
registry node that crashes with sessions in many calls. Once the short ttls have passed (plus the
backend's resolution), the server's own count for the namespace (tests/servers/footprint.py: Redis keys
on every primary, memcached items after an LRU crawl, etcd keys and leases, DynamoDB items, memory://'s
entries and directories) must be within ``3 x live + 20``, and every listing exact. Counts, not timings:
the sleeps only wait for ttls to pass. The tiered stores (tiered(redis, postgresql), tiered(memcached, etcd))
are counted on both tiers' servers, each within the same bound: what the tiered store writes on either tier
for a key goes away when the key does.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio

from servers.footprint import LIVE_KEYS, Counts, churn_items, footprint, live_items, postgres_connection
from sessionkv import SessionKVStore, SessionRegistry, open_store, tiered
from sessionkv.registry.keys import call_prefix

#: Short-lived keys per churn test (every tenth adds one in ``hot/``), written in batches of ``BATCH``.
CHURN = 3000
BATCH = 300
TTL = 1.0


@dataclass(frozen=True)
class Backend:
    """One backend under soak: the fixture giving its URL, and how long past a ttl its server may keep a key."""

    name: str
    fixture: str | None
    url_of: Callable[[Any], str]
    #: seconds past a key's ttl before its server holds nothing for it (ttl resolution, sweeps, slack)
    grace: float
    #: the crashed registry's ttl: its records live 10 x this, which must outlast registering 250 sessions
    registry_ttl: float = 0.2
    #: a tiered store: the names (in ``BACKENDS``) of its hot and its durable backend; then ``fixture`` is unused
    tiers: tuple[str, str] | None = None


def _endpoint_url(endpoint: Any) -> str:
    return str(endpoint.url)


BACKENDS = [
    Backend("memory", None, lambda _: f"memory://soak-{uuid.uuid4().hex[:8]}?cleanup_interval=0.2", 0.5),
    Backend("redis", "redis_server", _endpoint_url, 0.2),
    Backend("redis-cluster", "redis_cluster", _endpoint_url, 0.2),
    # index_type=hash: the server drops expired index fields by its own active expiry (10 cycles a second)
    Backend("redis-hash", "redis_hash_server", _endpoint_url, 1.0),
    Backend("redis-cluster-hash", "redis_hash_cluster", _endpoint_url, 1.0),
    Backend("memcached", "memcached_server", _endpoint_url, 4.0),  # whole seconds + 1, index items' slack
    Backend("etcd", "etcd_server", _endpoint_url, 3.0),  # leases: whole seconds + reuse window + etcd's check
    # one item per key; TTL deletion (emulated on moto) reads the whole-second ``ttl`` attribute, rounded up
    # from the exact expiry: up to 1 s past it. moto takes 10-40 ms a write under CI's load
    Backend("dynamodb", "dynamodb_table_url", str, 1.5, registry_ttl=1.5),
    # the sweep: every second on the test server, then a drain of the whole table's expired rows (other tests'
    # too): a loaded CI run still held 1,350 of 3,400 rows, mid-drain, 2 s after the ttl
    Backend("postgresql", "postgres_server", _endpoint_url, 4.0),
]
BY_NAME = {backend.name: backend for backend in BACKENDS}
#: grace: the larger of the durable tier's and the hot tier's plus the tiered ``warm_ttl`` (a copy warmed by a
#: read lives that long: 1 s, memcached's too)
TIERED = [
    Backend("tiered-redis-postgresql", None, _endpoint_url, 4.0, tiers=("redis", "postgresql")),
    Backend("tiered-memcached-etcd", None, _endpoint_url, 5.0, tiers=("memcached", "etcd")),
]


def _url(backend: Backend, request: pytest.FixtureRequest) -> str:
    value = request.getfixturevalue(backend.fixture) if backend.fixture else None
    return backend.url_of(value)


@pytest.fixture(params=BACKENDS + TIERED, ids=[backend.name for backend in BACKENDS + TIERED])
def soak_urls(request: pytest.FixtureRequest) -> list[str]:
    """The URL of one backend's session server (``memory://`` needs none); a tiered store's: hot, durable."""
    backend: Backend = request.param
    request.node.backend = backend
    if backend.tiers is None:
        return [_url(backend, request)]
    return [_url(BY_NAME[name], request) for name in backend.tiers]


@pytest_asyncio.fixture
async def soak(
    soak_urls: list[str], request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture
) -> AsyncIterator[tuple[SessionKVStore, list[str], Backend]]:
    """A started store on a namespace of its own, its servers' URLs and its backend. A failing background
    housekeeping call (a sweep, a lease revocation) is logged at debug level: a failed test shows it."""
    caplog.set_level(logging.DEBUG, logger="sessionkv.periodic")
    namespace = f"soak-{uuid.uuid4().hex[:10]}:"
    opened = [open_store(url, namespace=namespace) for url in soak_urls]
    store = opened[0] if len(opened) == 1 else tiered(*opened)
    async with store:
        yield store, soak_urls, request.node.backend


async def footprints(urls: list[str], namespace: str) -> list[Counts]:
    """What each server (both tiers' for a tiered store) holds for the namespace."""
    return [await footprint(url, namespace) for url in urls]


async def server_sessions(url: str) -> list[dict[str, object]]:
    """A PostgreSQL server's other sessions (state, wait, what blocks them, query), for a failure message."""
    conn = await postgres_connection(url)
    try:
        rows = await conn.fetch(
            "SELECT pid, application_name, state, wait_event_type, wait_event, pg_blocking_pids(pid) AS blocked_by,"
            " now() - xact_start AS in_xact, left(query, 160) AS query FROM pg_stat_activity"
            " WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
        )
        return [dict(row) for row in rows]
    finally:
        await conn.close()


def bound(live: int) -> int:
    return 3 * live + 20


@pytest.mark.asyncio
async def test_ttl_churn_across_many_directories_leaves_only_the_live_keys(
    soak: tuple[SessionKVStore, list[str], Backend],
) -> None:
    store, urls, backend = soak
    live = live_items()
    live_keys = sorted(key for key, _, _ in live)
    live_hot = sorted(key for key in live_keys if key.startswith("hot/"))
    await store.mset(live)
    before = await footprints(urls, store.namespace)
    for start in range(0, CHURN, BATCH):
        await store.mset(churn_items(start, BATCH, TTL))
    during = await footprints(urls, store.namespace)
    # on every tier (the count can fail); on DynamoDB keys that expired during a slow churn are counted by the
    # TTL pass that deleted them (a loaded CI found 2,690 items left and 660 already expired of 3,000 written)
    seen = [counts["total"] + counts.get("expired_deleted", 0) for counts in during]
    assert all(n >= CHURN for n in seen), during
    hot_now = set(await store.keys("hot/"))
    assert set(live_hot) <= hot_now <= set(live_hot) | {key for key, _, _ in churn_items(0, CHURN, TTL)}
    await asyncio.sleep(TTL + backend.grace)
    after = await footprints(urls, store.namespace)
    assert sorted(await store.keys("hot/")) == live_hot
    assert sorted(await store.keys("")) == live_keys
    if not all(counts["total"] <= bound(LIVE_KEYS) for counts in after):
        sweeps = {name: getattr(store, name) for name in ("sweeps", "swept") if hasattr(store, name)}  # PostgreSQL
        sessions = [await server_sessions(url) for url in urls if url.startswith("postgres")]
        raise AssertionError((backend.name, before, during, after, sweeps, sessions))
    if store.capabilities.directory_listing == "indexed":  # the listing costs the live entries only
        examined = store.keys_examined
        assert sorted(await store.keys("hot/")) == live_hot
        assert examined is not None and store.keys_examined is not None
        assert store.keys_examined - examined <= 2 * len(live_hot) + 20


@pytest.mark.asyncio
async def test_a_crashed_node_leaves_nothing_once_its_records_lifetime_has_passed(
    soak: tuple[SessionKVStore, list[str], Backend],
) -> None:
    store, urls, backend = soak
    # records live 10 x ttl (2 s by default); the node record and close requests 1 x ttl (rounded up by the store)
    crashed = SessionRegistry(store, node_id="crashed", ttl=backend.registry_ttl)
    await crashed.start()
    calls = 200
    for n in range(calls):  # each session holds an admission slot under a/{call-n}/ too
        await crashed.register(f"call-{n}", f"session-{n}", max_per_call=2)
        if n % 4 == 0:
            await crashed.register(f"call-{n}", f"second-{n}", max_per_call=2)
    await crashed.request_close("call-0", "session-0")  # a close request under c/{call-0}/ too
    assert len(await store.keys(call_prefix("call-0"))) == 2
    assert len(await store.keys("a/{call-0}/")) == 2
    during = await footprints(urls, store.namespace)
    # the records are really on the server, on every tier (the count can fail)
    assert all(counts["total"] >= calls for counts in during), during
    # the node crashes here: no stop(), no more heartbeats
    await asyncio.sleep(crashed.record_ttl + backend.grace)
    after = await footprints(urls, store.namespace)
    assert await store.keys("") == []
    assert all(counts["total"] <= bound(0) for counts in after), (backend.name, during, after)
