"""Rewriting DynamoDB items behind the store's back, for the tests that need a state only time makes."""

from __future__ import annotations

import time

from sessionkv_dynamodb.layout import primary_key
from sessionkv_dynamodb.store import DynamoDBStore


async def backdate(store: DynamoDBStore, key: str) -> None:
    """Make ``key`` expired in the table without deleting it (what DynamoDB's lazy TTL leaves behind)."""
    past = time.time() - 60
    await store.client.update_item(
        TableName=store.table,
        Key=primary_key(store.namespace, key),
        UpdateExpression="SET #e = :e, #t = :t",
        ExpressionAttributeNames={"#e": "exp", "#t": "ttl"},
        ExpressionAttributeValues={":e": {"N": f"{past:.6f}"}, ":t": {"N": str(int(past))}},
    )
