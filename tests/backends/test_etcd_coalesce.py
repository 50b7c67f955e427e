"""Coalesced ``get`` on a real etcd: a lone call is one ``/kv/range``; the calls after it in the same loop tick
leave as read-only txns of ranges (up to 128 each), each key once; outcomes and cancellation stay per call.

Costs are counted by a spy on ``Gateway.call`` (requests and their ops), none timed.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from wire_spies import Requests, record_requests

from servers.ladder import Endpoint
from sessionkv_etcd.store import EtcdStore

pytestmark = pytest.mark.asyncio


@pytest.fixture
def requests(monkeypatch: pytest.MonkeyPatch) -> Requests:
    return record_requests(monkeypatch)


@pytest_asyncio.fixture
async def store(etcd_server: Endpoint) -> AsyncIterator[EtcdStore]:
    async with EtcdStore(etcd_server.url, namespace=f"co-{uuid.uuid4().hex[:12]}:") as opened:
        yield opened
        await opened.delete(await opened.keys(""))


async def test_concurrent_gets_leave_as_txns_of_ranges(store: EtcdStore, requests: Requests) -> None:
    await store.mset([(f"g/k{i}", b"v%d" % i, 30) for i in range(200)])
    requests.sent.clear()
    wanted = [*range(200), 7, 7]
    found = await asyncio.gather(*(store.get(f"g/k{i}") for i in wanted), store.get("g/none"))
    assert found == [b"v%d" % i for i in wanted] + [None]
    # the first alone; the 202 after it, 200 distinct keys, in txns of at most 128 ranges
    assert requests.paths()[0] == "/kv/range"
    assert requests.paths()[1:] == ["/kv/txn", "/kv/txn"] and sorted(requests.txn_sizes()) == [72, 128]
    txn_ops = [op for path, body in requests.sent if path == "/kv/txn" for op in body["success"]]
    assert all(set(op) == {"request_range"} for op in txn_ops)  # read-only: no raft proposal


async def test_a_get_cancelled_in_flight_leaves_its_neighbours(store: EtcdStore, requests: Requests) -> None:
    await store.mset([(f"c/k{i}", b"v%d" % i, 30) for i in range(4)])
    requests.sent.clear()
    requests.txn.clear()
    calls = [asyncio.ensure_future(store.get(f"c/k{i}")) for i in range(4)]
    async with asyncio.timeout(10):  # a bound against hanging, not a measurement
        await requests.txn.wait()  # c/k0 went alone; the txn of the other three is on its way
    calls[2].cancel()
    outcomes = await asyncio.gather(*calls, return_exceptions=True)
    assert isinstance(outcomes[2], asyncio.CancelledError)
    assert [outcomes[i] for i in (0, 1, 3)] == [b"v0", b"v1", b"v3"]
    assert requests.txn_sizes() == [3]
    assert await store.get("c/k2") == b"v2"
