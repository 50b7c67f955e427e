"""The registry suite on tiered stores: every test of test_registry.py, test_registry_node.py and
test_registry_http.py that takes ``open_shared`` runs again on tiered(redis, postgresql) and
tiered(memcached, etcd).

Same tests, same assertions: this module only overrides the ``open_shared`` fixture of conftest.py (the
other backends get theirs from a URL; a tiered store has no URL form). Each ``open_shared()`` is a tiered
store of its own (one per node), all sharing both tiers' servers in one namespace, as the nodes of a
service would.
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
import test_registry as _registry_tests
import test_registry_http as _http_tests
import test_registry_node as _node_tests
from registry_support import OpenStore

from sessionkv import SessionKVStore, tiered
from sessionkv_etcd.store import EtcdStore
from sessionkv_memcached.store import MemcachedStore
from sessionkv_postgres.store import PostgresStore
from sessionkv_redis.store import RedisStore

pytestmark = pytest.mark.asyncio

#: pair -> (hot tier's server fixture, its store class, durable tier's server fixture, its store class)
PAIRS = {
    "redis-postgresql": ("redis_server", RedisStore, "postgres_server", PostgresStore),
    "memcached-etcd": ("memcached_server", MemcachedStore, "etcd_server", EtcdStore),
}

#: Generous: a hot call slower than this on a loaded CI machine would turn the hot tier down for the rest of
#: the test. Correct either way (the durable tier answers), but then the tests would not exercise the hot tier;
#: outages themselves are tests/tiered/test_tiered_faults.py's.
HOT_TIMEOUT = 5.0

#: The tests (and the ``served`` fixture of the HTTP tests) re-run here, collected under this module's fixture.
SHARED_FIXTURES = {"open_shared", "served"}
RERUN = {
    name: member
    for module in (_registry_tests, _node_tests, _http_tests)
    for name, member in vars(module).items()
    if name.startswith("test_") and callable(member) and SHARED_FIXTURES & set(inspect.signature(member).parameters)
}
globals().update(RERUN)
served = _http_tests.served


@pytest_asyncio.fixture(params=list(PAIRS))
async def open_shared(request: pytest.FixtureRequest) -> AsyncIterator[OpenStore]:
    """Opens and starts tiered stores on one namespace of both servers; closes them all at the end."""
    hot_fixture, hot_class, durable_fixture, durable_class = PAIRS[request.param]
    hot_url: str = request.getfixturevalue(hot_fixture).url
    durable_url: str = request.getfixturevalue(durable_fixture).url
    namespace = f"registry-{uuid.uuid4().hex[:10]}:"
    opened: list[SessionKVStore] = []

    async def make() -> SessionKVStore:
        hot, durable = hot_class(hot_url, namespace=namespace), durable_class(durable_url, namespace=namespace)
        store = tiered(hot, durable, hot_timeout=HOT_TIMEOUT)
        await store.start()
        opened.append(store)
        return store

    yield make
    for store in opened:
        await store.close()


async def test_every_registry_test_on_a_shared_store_runs_here() -> None:
    """The re-run set is what it should be (a signature change upstream would empty it silently)."""
    assert len(RERUN) >= 20, sorted(RERUN)
    for name in ("test_corrupt_and_unknown_field_records", "test_sessions_survive_a_flush_through_the_loop"):
        assert globals()[name] is RERUN[name]
    assert "test_health_reports_store_failure_and_stale_maintenance" in RERUN  # through ``served`` only
