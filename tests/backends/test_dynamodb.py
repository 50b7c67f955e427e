"""DynamoDBStore against moto's DynamoDB server: items as stored, lazy expiry, Query vs Scan, batch limits and retries.

Looks behind the store's back with its own client, and injects faults with spies on real calls
(tests/backends/dynamodb_faults.py): nothing here mocks the service.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from dynamodb_faults import count_calls, partial_batches, throttle
from dynamodb_items import backdate

from servers.availability import server_unavailable
from servers.dynamodb_process import table_url
from servers.ladder import Endpoint
from sessionkv import ConfigurationError, KeyPrefix, StoreError, ValueTooLargeError, open_store
from sessionkv_dynamodb.batching import Backoff
from sessionkv_dynamodb.layout import MAX_VALUE_SIZE, SK_LITERAL_MAX, primary_key
from sessionkv_dynamodb.store import DynamoDBStore

pytestmark = pytest.mark.asyncio

FAST_RETRIES = Backoff(attempts=4, base=0.001, cap=0.01)


def unique_namespace(tag: str = "t") -> str:
    return f"{tag}-{uuid.uuid4().hex[:12]}:"


@pytest_asyncio.fixture
async def store(dynamodb_table_url: str) -> AsyncIterator[DynamoDBStore]:
    async with DynamoDBStore(dynamodb_table_url, namespace=unique_namespace()) as s:
        s.batch_backoff = FAST_RETRIES
        yield s


async def raw_item(store: DynamoDBStore, key: str) -> dict[str, Any] | None:
    reply = await store.client.get_item(
        TableName=store.table, Key=primary_key(store.namespace, key), ConsistentRead=True
    )
    item: dict[str, Any] | None = reply.get("Item")
    return item


async def test_opened_by_url_through_the_plugin(dynamodb_server: Endpoint) -> None:
    async with open_store(dynamodb_server.url, namespace=unique_namespace()) as s:
        assert isinstance(s, DynamoDBStore)
        await s.set("k", b"v", 5)
        assert await s.get("k") == b"v"
        assert s.capabilities.max_value_size == MAX_VALUE_SIZE


async def test_item_layout_and_expiry_attributes(store: DynamoDBStore) -> None:
    before = time.time()
    await store.set("s/call/sess", b"\x00\xff", 10.5)
    item = await raw_item(store, "s/call/sess")
    assert item is not None
    ns = store.namespace
    assert item["pk"] == {"S": f"{len(ns)}:{ns}s/"} and item["sk"] == {"S": "s/call/sess"}
    assert item["v"] == {"B": b"\x00\xff"}
    exp, whole = float(item["exp"]["N"]), int(item["ttl"]["N"])
    assert before + 10.5 <= exp <= time.time() + 10.5
    assert "." in item["exp"]["N"] and whole >= exp and whole - exp < 1  # ttl: whole seconds, rounded up
    assert "k" not in item and "ns" not in item


async def test_expired_items_still_in_the_table_are_invisible_everywhere(store: DynamoDBStore) -> None:
    await store.mset([("a/stale", b"old", 30), ("a/live", b"new", 30), ("stale", b"old", 30)])
    await backdate(store, "a/stale")
    await backdate(store, "stale")
    assert await raw_item(store, "a/stale") is not None  # moto (like DynamoDB, for a while) keeps it
    assert await store.get("a/stale") is None
    assert await store.mget(["a/stale", "a/live", "stale"]) == [None, b"new", None]
    assert sorted(await store.keys("")) == ["a/live"]
    assert await store.keys("a/") == ["a/live"]
    await store.set("a/stale", b"revived?", 30, only_if_exists=True)
    await store.expire("a/stale", ttl=30)
    assert await store.touch(["a/stale", "a/live", "stale"], 30) == ["a/stale", "stale"]
    assert await store.get("a/stale") is None
    item = await raw_item(store, "a/stale")
    assert item is not None and item["v"] == {"B": b"old"} and float(item["exp"]["N"]) < time.time()
    await store.set("a/stale", b"fresh", 30)  # a plain set replaces the stale item
    assert await store.get("a/stale") == b"fresh"


async def test_conditional_writes_never_create_items(store: DynamoDBStore) -> None:
    await store.set("c/missing", b"v", 30, only_if_exists=True)
    await store.expire("c/missing", ttl=30)
    assert await store.touch(["c/missing"], 30) == ["c/missing"]
    assert await raw_item(store, "c/missing") is None


async def test_directory_prefixes_are_queries_and_the_rest_scans(store: DynamoDBStore) -> None:
    await store.mset([(k, b"v", 30) for k in ("s/c1/a", "s/c1/b", "s/c1/deep/x", "s/c10/a", "n/node", "top")])
    calls = count_calls(store.client)
    assert sorted(await store.keys("s/c1/")) == ["s/c1/a", "s/c1/b", "s/c1/deep/x"]
    assert sorted(await store.keys("s/c1")) == ["s/c1/a", "s/c1/b", "s/c1/deep/x", "s/c10/a"]
    assert await store.keys("n/") == ["n/node"]
    assert calls.counts == {"Query": 3}
    query = calls.of("Query")[0]
    assert query["KeyConditionExpression"] == "#pk = :pk AND begins_with(#sk, :prefix)"
    assert query["ExpressionAttributeValues"][":prefix"] == {"S": "s/c1/"}
    assert sorted(await store.keys("")) == ["n/node", "s/c1/a", "s/c1/b", "s/c1/deep/x", "s/c10/a", "top"]
    assert await store.keys("to") == ["top"]
    assert calls.counts["Scan"] == 2


async def test_items_is_the_listing_with_values_and_no_batch_get(store: DynamoDBStore) -> None:
    await store.mset([(k, k.encode(), 30) for k in ("s/c1/a", "s/c1/b", "s/c10/a", "top")] + [("s/c1/e", b"", 30)])
    await store.set("s/c1/gone", b"g", 30)
    await backdate(store, "s/c1/gone")  # expired, still in the table
    calls = count_calls(store.client)
    assert sorted(await store.items("s/c1/")) == [("s/c1/a", b"s/c1/a"), ("s/c1/b", b"s/c1/b"), ("s/c1/e", b"")]
    assert sorted(await store.items("")) == sorted(
        [("s/c1/a", b"s/c1/a"), ("s/c1/b", b"s/c1/b"), ("s/c1/e", b""), ("s/c10/a", b"s/c10/a"), ("top", b"top")]
    )
    assert calls.counts == {"Query": 1, "Scan": 1}  # the listing alone: no BatchGetItem after it


async def test_listing_follows_pages_that_are_empty_after_filtering(
    store: DynamoDBStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = [f"p/{i:02d}" for i in range(12)]
    await store.mset([(k, b"v", 30) for k in keys])
    for key in keys[:8]:
        await backdate(store, key)
    pages: list[int] = []
    for name in ("query", "scan"):
        real = getattr(store.client, name)

        async def small_pages(real: Any = real, **kwargs: Any) -> Any:
            reply = await real(**{**kwargs, "Limit": 2})  # a spy: the real service answers 2 items per page
            pages.append(len(reply["Items"]))
            return reply

        monkeypatch.setattr(store.client, name, small_pages)
    assert sorted(await store.keys("p/")) == keys[8:]
    assert pages[:4] == [0, 0, 0, 0] and len(pages) >= 6
    pages.clear()
    assert sorted(await store.keys("")) == keys[8:]
    assert 0 in pages and len(pages) >= 6


async def test_batches_respect_aws_limits(store: DynamoDBStore) -> None:
    calls = count_calls(store.client)
    keys = [f"b/{i}" for i in range(260)]
    await store.mset([(k, k.encode(), 30) for k in keys])
    writes = calls.of("BatchWriteItem")
    assert len(writes) == 11 and max(len(w["RequestItems"][store.table]) for w in writes) == 25
    wanted = [*reversed(keys), "b/missing", keys[0]]
    assert await store.mget(wanted) == [*(k.encode() for k in reversed(keys)), None, b"b/0"]
    gets = calls.of("BatchGetItem")
    assert len(gets) == 3 and max(len(g["RequestItems"][store.table]["Keys"]) for g in gets) == 100
    assert all(g["RequestItems"][store.table]["ConsistentRead"] for g in gets)
    await store.delete(keys)
    assert len(calls.of("BatchWriteItem")) == 22
    assert await store.keys("b/") == []


async def test_unprocessed_entries_are_retried(store: DynamoDBStore, monkeypatch: pytest.MonkeyPatch) -> None:
    keys = [f"u/{i}" for i in range(30)]
    calls = partial_batches(monkeypatch, store.client, times=2, keep=3)
    await store.mset([(k, b"v", 30) for k in keys])  # 2 chunks, each first answered with all but 3 unprocessed
    assert calls["batch_write_item"] == 4
    calls = partial_batches(monkeypatch, store.client, times=1, keep=5)
    assert await store.mget(keys) == [b"v"] * 30
    assert calls["batch_get_item"] == 2
    calls = partial_batches(monkeypatch, store.client, times=1, keep=1)
    await store.delete(keys)
    assert calls["batch_write_item"] == 3
    assert await store.keys("u/") == []


async def test_batch_left_unprocessed_raises_store_error(store: DynamoDBStore, monkeypatch: pytest.MonkeyPatch) -> None:
    partial_batches(monkeypatch, store.client, times=100, keep=0)
    with pytest.raises(StoreError, match="unprocessed after 4 attempts"):
        await store.mset([("x/1", b"v", 30), ("x/2", b"v", 30)])
    with pytest.raises(StoreError, match="unprocessed"):
        await store.mget(["x/1"])


async def test_throttling_is_retried_then_surfaces_as_store_error(dynamodb_server: Endpoint) -> None:
    async with DynamoDBStore(dynamodb_server.url, namespace=unique_namespace(), retries=2) as s:
        attempts = throttle(s.client, "GetItem", times=2)
        assert await s.get("k") is None  # two throttled replies, then the real one
        assert attempts == {"throttled": 2, "sent": 1}
        attempts = throttle(s.client, "PutItem", times=100)
        with pytest.raises(StoreError, match="ProvisionedThroughputExceeded"):
            await s.set("k", b"v", 5)
        assert attempts["throttled"] == 3 and attempts["sent"] == 0  # first attempt + 2 retries
        assert await s.get("k") is None


async def test_values_over_the_limit_are_rejected_with_nothing_written(store: DynamoDBStore) -> None:
    big = b"x" * (MAX_VALUE_SIZE + 1)
    with pytest.raises(ValueTooLargeError):
        await store.set("v/big", big, 30)
    with pytest.raises(ValueTooLargeError):
        await store.mset([("v/ok", b"ok", 30), ("v/big", big, 30)])
    assert await store.keys("v/") == []
    longest = "é" * 1024  # 2048 bytes: the declared max_key_size
    await store.set(longest, b"y" * MAX_VALUE_SIZE, 30)
    assert await store.get(longest) == b"y" * MAX_VALUE_SIZE
    with pytest.raises(ValueError, match="2048"):
        await store.set(longest + "x", b"v", 30)


async def test_long_keys_are_hashed_into_the_key_limits(store: DynamoDBStore) -> None:
    long_top = "d" * 2040 + "/x"  # partition key over 2048 bytes with the namespace: hashed
    long_rest = "s/" + "r" * 1500  # sort key over the literal limit: truncated + sha256
    twin = "s/" + "r" * 1499 + "q"  # same first bytes: must stay a different item
    await store.mset([(long_top, b"1", 30), (long_rest, b"2", 30), (twin, b"3", 30)])
    assert await store.mget([long_top, long_rest, twin]) == [b"1", b"2", b"3"]
    item = await raw_item(store, long_rest)
    assert item is not None and len(item["sk"]["S"].encode()) <= 1024 and item["k"] == {"S": long_rest}
    top_item = await raw_item(store, long_top)
    assert top_item is not None and top_item["pk"]["S"].startswith("#") and top_item["ns"] == {"S": store.namespace}
    assert sorted(await store.keys("s/")) == sorted([long_rest, twin])
    assert sorted(await store.keys("s/" + "r" * (SK_LITERAL_MAX + 100))) == sorted([long_rest, twin])
    assert await store.keys(long_rest) == [long_rest]  # prefix past the sort key's literal part: filtered here
    assert await store.keys("d" * 2040) == [long_top]
    assert sorted(await store.keys("")) == sorted([long_top, long_rest, twin])


async def test_namespaces_that_prefix_each_other_stay_apart(dynamodb_server: Endpoint) -> None:
    base = unique_namespace()
    async with (
        DynamoDBStore(dynamodb_server.url, namespace=base) as short,
        DynamoDBStore(dynamodb_server.url, namespace=KeyPrefix(base + "x")) as long,  # raw prefixes, as published
    ):
        await short.set("xk", b"short", 30)
        await long.set("k", b"long", 30)
        assert await short.get("xk") == b"short" and await long.get("k") == b"long"
        assert await short.keys("") == ["xk"] and await long.keys("") == ["k"]


async def test_missing_table_is_one_clear_error(dynamodb_server: Endpoint) -> None:
    url = dynamodb_server.url.replace("create_table=true", "create_table=false")
    name = f"absent-{uuid.uuid4().hex[:8]}"
    url = f"dynamodb://{name}?" + url.split("?", 1)[1]
    with pytest.raises(ConfigurationError, match=f"table '{name}' does not exist.*python -m sessionkv_dynamodb.table"):
        await DynamoDBStore(url).start()


async def test_wrong_key_schema_is_one_clear_error(store: DynamoDBStore, dynamodb_server: Endpoint) -> None:
    name = f"wrong-{uuid.uuid4().hex[:8]}"
    await store.client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )
    url = f"dynamodb://{name}?" + dynamodb_server.url.split("?", 1)[1]
    with pytest.raises(ConfigurationError, match=r"key schema is \(id HASH S\); sessionkv needs \(pk HASH S, sk"):
        await DynamoDBStore(url).start()


async def test_create_table_makes_an_on_demand_table_with_ttl(store: DynamoDBStore, dynamodb_server: Endpoint) -> None:
    endpoint = dynamodb_server.url.split("endpoint_url=", 1)[1].split("&", 1)[0]
    if not dynamodb_server.owned:
        server_unavailable("creates tables: only on the test session's own moto server")
    name = f"fresh-{uuid.uuid4().hex[:8]}"
    async with open_store(table_url(endpoint, name)) as fresh:
        await fresh.set("k", b"v", 5)
    description = (await store.client.describe_table(TableName=name))["Table"]
    assert description["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    ttl = (await store.client.describe_time_to_live(TableName=name))["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "ttl"}
