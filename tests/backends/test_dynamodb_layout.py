"""DynamoDB's per-call partitions (layout 2): where keys live, what listings cost, and tables of layout 1.

The registry's ``s/{call}/``, ``c/{call}/`` and ``a/{call}/`` directories each get a partition key of their own
so a fleet's heartbeats spread over one partition per call; everything else keeps one per top-level directory.
A table written by an older sessionkv is refused until ``python -m sessionkv_dynamodb.migrate`` moved its items.
"""

from __future__ import annotations

import asyncio
import itertools
import sys
import time
import uuid
from asyncio.subprocess import PIPE
from typing import Any

import pytest
from dynamodb_faults import count_calls

from sessionkv import ConfigurationError, SessionRegistry
from sessionkv.registry.keys import call_prefix, close_key, session_key, slot_key
from sessionkv_dynamodb.layout import (
    LAYOUT_PK,
    LAYOUT_SK,
    PK,
    SK,
    listing_partition,
    namespace_tag,
    partition_of,
    primary_key,
)
from sessionkv_dynamodb.migrate import migrate
from sessionkv_dynamodb.store import DynamoDBStore


def test_a_prefix_names_a_partition_only_when_every_key_under_it_lives_there() -> None:
    # every key and prefix of up to 7 characters over an alphabet holding the separators, in and out of s/
    alphabet = "s/{}x"
    keys = ["".join(chars) for n in range(1, 8) for chars in itertools.product(alphabet, repeat=n)]
    named: dict[str, str | None] = {}
    for key in keys:
        for n in range(len(key) + 1):
            prefix = key[:n]
            if prefix not in named:
                named[prefix] = listing_partition(prefix)
            partition = named[prefix]
            assert partition is None or partition_of(key) == partition, (prefix, partition, key)
    determined = sum(1 for partition in named.values() if partition is not None)
    assert determined > 1000  # the rule is not "always scan"


def test_each_call_of_the_registry_directories_has_a_partition_and_the_rest_keep_their_top_directory() -> None:
    assert partition_of(session_key("call-1", "a")) == "s/{call-1}/"
    assert partition_of(close_key("call-1", "a")) == "c/{call-1}/"
    assert partition_of(slot_key("call-1", 0)) == "a/{call-1}/"
    assert partition_of("n/node-1") == "n/"
    assert partition_of("conv/{x}/state") == "conv/"  # not a registry directory: tags mean nothing there
    assert partition_of("s/plain/x") == "s/"
    assert partition_of("s/{}/x") == "s/"  # an empty tag is no tag (as in Redis Cluster)
    assert listing_partition(call_prefix("call-1")) == "s/{call-1}/"
    assert listing_partition("s/") is None and listing_partition("s/{call") is None  # every call: a Scan
    assert listing_partition("s/plain") == "s/" and listing_partition("conv/") == "conv/"


@pytest.mark.asyncio
async def test_two_calls_write_to_two_partition_keys_and_a_call_lists_with_one_query(dynamodb_table_url: str) -> None:
    namespace = f"t-{uuid.uuid4().hex[:8]}:"
    async with DynamoDBStore(dynamodb_table_url, namespace=namespace) as store:
        registry = SessionRegistry(store, node_id="node-1", ttl=5)
        async with registry:
            for call in ("call-1", "call-2"):
                for session in ("a", "b"):
                    await registry.register(call, session)
            pks = set()
            for call in ("call-1", "call-2"):
                for session in ("a", "b"):
                    reply = await store.client.get_item(
                        TableName=store.table, Key=primary_key(namespace, session_key(call, session))
                    )
                    pks.add(reply["Item"][PK]["S"])
            assert pks == {namespace_tag(namespace) + "s/{call-1}/", namespace_tag(namespace) + "s/{call-2}/"}
            calls = count_calls(store.client)
            assert [info.session_id for info in await registry.get_for_call("call-1")] == ["a", "b"]
            assert calls.counts.get("Query") == 1 and "Scan" not in calls.counts
            assert len(await registry.list_sessions()) == 4  # every call: one Scan (an operator's listing)
            assert calls.counts.get("Scan") == 1


def _layout_1_item(namespace: str, key: str, value: bytes) -> dict[str, Any]:
    """An item as sessionkv's layout 1 wrote it: partition key = namespace + top-level directory."""
    expires = time.time() + 300
    top = key[: key.index("/") + 1]
    return {
        PK: {"S": namespace_tag(namespace) + top},
        SK: {"S": key},
        "v": {"B": value},
        "exp": {"N": f"{expires:.6f}"},
        "ttl": {"N": str(int(expires) + 1)},
        "ver": {"B": b"0123456789abcdef"},
    }


@pytest.mark.asyncio
async def test_a_layout_1_table_is_refused_in_one_line_until_migrated_then_reads_its_items(
    dynamodb_table_url: str,
) -> None:
    namespace = f"t-{uuid.uuid4().hex[:8]}:"
    old_key, plain = session_key("call-9", "s1"), "conv/7/state"
    async with DynamoDBStore(dynamodb_table_url, namespace=namespace) as store:  # creates and marks the table
        client, table = store.client, store.table
        await client.delete_item(TableName=table, Key={PK: {"S": LAYOUT_PK}, SK: {"S": LAYOUT_SK}})
        for key, value in ((old_key, b"record"), (plain, b"state")):
            await client.put_item(TableName=table, Item=_layout_1_item(namespace, key, value))
    with pytest.raises(ConfigurationError) as refused:
        await DynamoDBStore(dynamodb_table_url, namespace=namespace).start()
    message = str(refused.value)
    assert "layout 1" in message and "python -m sessionkv_dynamodb.migrate" in message and "\n" not in message

    done = await migrate(dynamodb_table_url)
    assert (done.scanned, done.moved) == (2, 1)  # the plain key's partition did not change
    async with DynamoDBStore(dynamodb_table_url, namespace=namespace) as store:
        assert await store.mget([old_key, plain]) == [b"record", b"state"]
        assert await store.keys(call_prefix("call-9")) == [old_key]
        assert sorted(await store.keys("")) == sorted([old_key, plain])  # the layout item is no key of ours
    again = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "sessionkv_dynamodb.migrate", dynamodb_table_url, stdout=PIPE, stderr=PIPE
    )
    out, err = await again.communicate()
    assert again.returncode == 0, err.decode()
    assert out.decode().strip() == "3 items read, 0 moved; the table is in layout 2"


@pytest.mark.asyncio
async def test_a_table_of_a_newer_layout_is_refused(dynamodb_table_url: str) -> None:
    async with DynamoDBStore(dynamodb_table_url, namespace="t:") as store:
        await store.client.put_item(
            TableName=store.table, Item={PK: {"S": LAYOUT_PK}, SK: {"S": LAYOUT_SK}, "layout": {"N": "3"}}
        )
    with pytest.raises(ConfigurationError, match=r"layout 3, which this version \(layout 2\) does not read"):
        await DynamoDBStore(dynamodb_table_url, namespace="t:").start()


@pytest.mark.asyncio
async def test_a_table_created_again_is_this_layout_although_older_stores_write_into_it_first(
    dynamodb_table_url: str,
) -> None:
    """The server lost its tables (moto restarted, say): the store that creates the table again marks it as this
    layout even if stores started before already wrote into it (found by the SIGKILL fault test on moto)."""
    namespace = f"t-{uuid.uuid4().hex[:8]}:"
    async with DynamoDBStore(dynamodb_table_url, namespace=namespace) as early:
        await early.client.delete_table(TableName=early.table)
        late = DynamoDBStore(dynamodb_table_url, namespace=namespace)
        create = late._create_table

        async def create_then_an_early_write(client: Any) -> dict[str, Any]:
            description = await create(client)
            await early.set("conv/1", b"early", 60)  # before the new table names its layout
            return description

        late._create_table = create_then_an_early_write  # type: ignore[method-assign]
        async with late:
            assert await late.get("conv/1") == b"early"
        async with DynamoDBStore(dynamodb_table_url, namespace=namespace) as third:
            assert await third.keys("") == ["conv/1"]


@pytest.mark.asyncio
async def test_a_store_starting_beside_another_on_an_unmarked_table_accepts_what_that_one_marked(
    dynamodb_table_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two stores start on a table nobody has marked yet (the fleet bench's workers on a table the bench made):
    the second reads no marker, then the first marks the table and writes, then the second finds items. Those
    are this layout's (found by a CI run of the fleet bench: "holds items of sessionkv's layout 1")."""
    from sessionkv_dynamodb import layout_marker

    namespace = f"t-{uuid.uuid4().hex[:8]}:"
    async with DynamoDBStore(dynamodb_table_url, namespace=namespace) as first:  # creates and marks the table
        await first.client.delete_item(TableName=first.table, Key={PK: {"S": LAYOUT_PK}, SK: {"S": LAYOUT_SK}})
        real_read = layout_marker.read_layout
        reads = 0

        async def read_then_the_first_store_marks_and_writes(client: Any, table: str) -> int | None:
            nonlocal reads
            reads += 1
            found = await real_read(client, table)
            if reads == 1:
                assert found is None
                await layout_marker.check_layout(client, table, "the first store")  # marks the empty table
                await first.set("conv/1", b"first", 60)
            return found

        monkeypatch.setattr(layout_marker, "read_layout", read_then_the_first_store_marks_and_writes)
        async with DynamoDBStore(dynamodb_table_url, namespace=namespace) as second:
            assert await second.get("conv/1") == b"first"
        assert reads == 3  # its own read, the first store's, and its second look after seeing the items
