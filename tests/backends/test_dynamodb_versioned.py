"""DynamoDBStore's versioned writes: versions are the random ``ver`` every write stores, conditions treat expired
items still in the table as absent, retried attempts never turn a write into a refusal, and a get_versioned/cas
counter loses nothing from 2 processes x 8 tasks."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from contended_counter import count_from_processes
from dynamodb_faults import count_calls, lose_replies, throttle
from dynamodb_items import backdate

from sessionkv import StoreError
from sessionkv_dynamodb.layout import VERSION_SIZE, primary_key
from sessionkv_dynamodb.store import DynamoDBStore

PROCESSES, TASKS, INCREMENTS = 2, 8, 10


def unique_namespace() -> str:
    return f"v-{uuid.uuid4().hex[:12]}:"


@pytest_asyncio.fixture
async def store(dynamodb_table_url: str) -> AsyncIterator[DynamoDBStore]:
    async with DynamoDBStore(dynamodb_table_url, namespace=unique_namespace()) as opened:
        yield opened


async def stored_ver(store: DynamoDBStore, key: str) -> Any:
    """The ``ver`` attribute of ``key``'s item, read behind the store's back."""
    reply = await store.client.get_item(TableName=store.table, Key=primary_key(store.namespace, key))
    return reply.get("Item", {}).get("ver", {}).get("B")


@pytest.mark.asyncio
async def test_every_write_stores_a_new_ver_and_refreshes_keep_it(store: DynamoDBStore) -> None:
    await store.set("k", b"v", 30)
    seen = [await stored_ver(store, "k")]
    await store.mset([("k", b"v", 30), ("other", b"v", 30)])
    seen.append(await stored_ver(store, "k"))
    await store.set("k", b"v", 30, only_if_exists=True)
    seen.append(await stored_ver(store, "k"))
    current = await store.get_versioned("k")
    assert current is not None and current.version == seen[-1]
    written = await store.cas("k", b"v", 30, version=current.version)
    seen.append(written)
    assert written == await stored_ver(store, "k")
    assert all(isinstance(ver, bytes) and len(ver) == VERSION_SIZE for ver in seen)
    assert len(set(seen)) == len(seen), "a write kept the previous ver"
    await store.expire("k", ttl=60)
    assert await store.touch(["k"], 60) == []
    assert await stored_ver(store, "k") == written, "expire/touch changed the version"


@pytest.mark.asyncio
async def test_an_expired_item_still_in_the_table_counts_as_absent(store: DynamoDBStore) -> None:
    version = await store.cas("lazy", b"old", 30, version=None)
    assert version is not None
    await backdate(store, "lazy")  # DynamoDB may keep it for days
    assert await store.get_versioned("lazy") is None
    assert await store.cas("lazy", b"late", 30, version=version) is None, "cas matched an expired item"
    assert await store.delete_if("lazy", version) is False, "delete_if matched an expired item"
    assert await store.add("lazy", b"new", 30) is True, "add refused an expired item"
    assert await store.get("lazy") == b"new"
    await backdate(store, "lazy")
    assert await store.cas("lazy", b"newer", 30, version=None) is not None
    assert await store.get("lazy") == b"newer"


@pytest.mark.asyncio
async def test_items_written_before_versions_existed_can_be_versioned(store: DynamoDBStore) -> None:
    key = primary_key(store.namespace, "legacy")
    expires = f"{time.time() + 30:.6f}"
    item = {**key, "v": {"B": b"1"}, "exp": {"N": expires}, "ttl": {"N": str(int(float(expires)) + 1)}}
    await store.client.put_item(TableName=store.table, Item=item)
    found = await store.get_versioned("legacy")
    assert found is not None and found.value == b"1" and found.version == b""
    assert await store.add("legacy", b"x", 30) is False
    written = await store.cas("legacy", b"2", 30, version=found.version)
    assert written is not None and written != b""
    assert await store.cas("legacy", b"3", 30, version=b"") is None, "a stale 'no version' matched a versioned item"
    assert await store.delete_if("legacy", written) is True


@pytest.mark.asyncio
@pytest.mark.parametrize("foreign", [b"short", b"x" * 17, "a" * 16, 7, ("x",), bytearray(16)])
async def test_a_version_this_backend_never_hands_out_matches_nothing_and_is_never_sent(
    store: DynamoDBStore, foreign: Any
) -> None:
    await store.set("k", b"v", 30)
    calls = count_calls(store.client)
    assert await store.delete_if("k", foreign) is False
    assert await store.cas("k", b"w", 30, version=foreign) is None
    assert await store.cas("absent", b"w", 30, version=b"q" * VERSION_SIZE) is None, "a foreign version created a key"
    assert calls.counts == {"PutItem": 1}, "only the well-formed version went to the table"
    assert await store.mget(["k", "absent"]) == [b"v", None]


@pytest.mark.asyncio
async def test_each_operation_is_one_request(store: DynamoDBStore) -> None:
    calls = count_calls(store.client)
    assert await store.add("k", b"0", 30) is True
    current = await store.get_versioned("k")
    assert current is not None
    assert await store.cas("k", b"1", 30, version=current.version) is not None
    assert await store.cas("k", b"stale", 30, version=current.version) is None
    assert await store.add("k", b"again", 30) is False
    latest = await store.get_versioned("k")
    assert latest is not None and await store.delete_if("k", latest.version) is True
    assert calls.counts == {"PutItem": 4, "GetItem": 2, "DeleteItem": 1}
    assert all(params["ConsistentRead"] for params in calls.of("GetItem"))
    assert all(p["ReturnValuesOnConditionCheckFailure"] == "ALL_OLD" for p in calls.of("PutItem"))


@pytest.mark.asyncio
async def test_a_write_whose_reply_was_lost_is_reported_written(store: DynamoDBStore) -> None:
    first = await store.cas("k", b"1", 30, version=None)
    assert first is not None
    lost = lose_replies(store.client, "PutItem")
    second = await store.cas("k", b"2", 30, version=first)
    assert lost["lost"] == 1, "no reply was dropped: the test tested nothing"
    assert second is not None, "a write applied by the first attempt was reported as refused"
    assert second == await stored_ver(store, "k") and await store.get("k") == b"2"
    lose_replies(store.client, "PutItem")
    assert await store.add("added", b"a", 30) is True


@pytest.mark.asyncio
async def test_an_unknowable_outcome_raises_instead_of_refusing(store: DynamoDBStore, dynamodb_table_url: str) -> None:
    async with DynamoDBStore(dynamodb_table_url, namespace=store.namespace) as other:

        async def other_writes() -> None:
            await other.set("k", b"other", 30)

        first = await store.cas("k", b"1", 30, version=None)
        assert first is not None
        lose_replies(store.client, "PutItem", between=other_writes)
        with pytest.raises(StoreError, match="may have been applied"):
            await store.cas("k", b"2", 30, version=first)
        assert await store.get("k") == b"other"
        current = await store.get_versioned("k")
        assert current is not None
        lose_replies(store.client, "DeleteItem")
        with pytest.raises(StoreError, match="may have been applied"):
            await store.delete_if("k", current.version)  # the first attempt deleted it; the retry finds nothing
        assert await store.get("k") is None


@pytest.mark.asyncio
async def test_a_throttled_attempt_then_a_refusal_is_a_plain_refusal(store: DynamoDBStore) -> None:
    await store.set("k", b"1", 30)
    stale = await store.get_versioned("k")
    assert stale is not None
    await store.set("k", b"2", 30)
    attempts = throttle(store.client, "PutItem", times=1)
    assert await store.cas("k", b"3", 30, version=stale.version) is None
    assert attempts["throttled"] == 1 and attempts["sent"] == 1
    assert await store.get("k") == b"2"


@pytest.mark.asyncio
async def test_counter_from_two_processes_loses_no_increment(dynamodb_table_url: str) -> None:
    urls = [dynamodb_table_url] * PROCESSES
    await count_from_processes(urls, unique_namespace(), tasks=TASKS, increments=INCREMENTS)
