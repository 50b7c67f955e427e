"""DynamoDB (moto): DynamoDBStore against bare aioboto3 calls on the same table and the store's own client.

Bare: ``GetItem`` (consistent); ``PutItem``; ``BatchGetItem`` of 100 keys per request and
``BatchWriteItem`` of 25 items per request, requests sent concurrently; ``expire`` as concurrent
conditional ``UpdateItem`` (16 in flight). Items use the store's own layout, under another namespace.

Then a contended counter: 16 tasks in 2 processes increment one key with a get_versioned/cas retry
loop (consistent GetItem, then a PutItem conditioned on the item's ``ver``), against one
uncontended task in rounds alternating with it: increments/s, refused cas calls per increment, and
contended/uncontended throughput. moto serves one request at a time: the figures show the retry
loop's cost in requests, not AWS's latency or its per-item write limit (about 1,000 writes/s).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from sessionkv_dynamodb.layout import build_item, expiry_numbers, primary_key
from sessionkv_dynamodb.store import DynamoDBStore

from ..contention import add_counter
from ..operations import ALL, PublishedKV
from ..suite import Context, compare_matrix, guarded, ratio_table

IN_FLIGHT = 16


class BareDynamoDB:
    """A ``KV`` of plain aioboto3 calls on ``client`` and ``table``, items laid out as the store lays them out."""

    supports = ALL

    def __init__(self, client: Any, table: str, namespace: str) -> None:
        self.client = client
        self.table = table
        self.ns = namespace
        self._slots = asyncio.Semaphore(IN_FLIGHT)

    async def get(self, key: str) -> object:
        return await self.client.get_item(TableName=self.table, Key=primary_key(self.ns, key), ConsistentRead=True)

    async def set(self, key: str, value: bytes, ttl: float) -> object:
        item = build_item(self.ns, key, value, time.time() + ttl)
        return await self.client.put_item(TableName=self.table, Item=item)

    async def mget(self, keys: list[str]) -> object:
        chunks = [keys[i : i + 100] for i in range(0, len(keys), 100)]
        requests = [
            {self.table: {"Keys": [primary_key(self.ns, k) for k in chunk], "ConsistentRead": True}} for chunk in chunks
        ]
        return await asyncio.gather(*(self.client.batch_get_item(RequestItems=r) for r in requests))

    async def mset(self, items: list[tuple[str, bytes, float]]) -> object:
        now = time.time()
        puts = [{"PutRequest": {"Item": build_item(self.ns, k, v, now + t)}} for k, v, t in items]
        chunks = [puts[i : i + 25] for i in range(0, len(puts), 25)]
        return await asyncio.gather(*(self.client.batch_write_item(RequestItems={self.table: c}) for c in chunks))

    async def expire(self, keys: list[str], ttl: float) -> object:
        exp, whole = expiry_numbers(time.time() + ttl)

        async def refresh(key: str) -> None:
            async with self._slots:
                await self.client.update_item(
                    TableName=self.table,
                    Key=primary_key(self.ns, key),
                    UpdateExpression="SET #exp = :exp, #ttl = :ttl",
                    ConditionExpression="attribute_exists(#pk)",
                    ExpressionAttributeNames={"#exp": "exp", "#ttl": "ttl", "#pk": "pk"},
                    ExpressionAttributeValues={":exp": {"N": exp}, ":ttl": {"N": whole}},
                )

        return await asyncio.gather(*(refresh(key) for key in keys))


async def run(context: Context) -> None:
    table = ratio_table(
        "DynamoDB (moto server): DynamoDBStore vs bare aioboto3 on the same table",
        "moto answers from one Python process: these ratios show client-side cost, not AWS latency.",
    )
    context.report.tables.append(table)

    async def measure() -> None:
        url = context.servers.dynamodb("sessionkv-bench")
        async with DynamoDBStore(url, namespace="bench-ours:") as store:
            bare = BareDynamoDB(store.client, store.table, "bench-bare:")
            group = "DynamoDB: ours vs bare aioboto3"
            await compare_matrix(context, table, group, PublishedKV(store), bare, "aioboto3")

    await guarded(context, "dynamodb", table, measure)

    url = context.servers.dynamodb("sessionkv-bench")
    await add_counter(
        context,
        "DynamoDB (moto server)",
        url,
        "Each attempt is a consistent GetItem plus a conditional PutItem; AWS charges a refused PutItem too.",
    )
