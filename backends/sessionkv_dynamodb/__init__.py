"""The Amazon DynamoDB (aioboto3) backend for sessionkv: ``pip install "sessionkv[dynamodb]"``.

URL: ``dynamodb://TABLE[?region=...&endpoint_url=...&profile=...&create_table=true]``; credentials come
from the standard AWS chain, never from the URL. Options: namespace, region, endpoint_url, profile,
create_table, connect_timeout, read_timeout, retries, concurrency. The table's definition for
infrastructure as code: ``python -m sessionkv_dynamodb.table TABLE`` (see ``sessionkv_dynamodb.table``).

Footprint rule: a key is one item. An expired item is invisible at once and deleted by DynamoDB's TTL
process on the ``ttl`` attribute (typically within days on AWS); with TTL off on the table, expired items
stay for ever, so ``start()`` warns.

This package does not import aioboto3 until ``DynamoDBStore`` is first accessed or a dynamodb URL is opened.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sessionkv import lazy_exports

if TYPE_CHECKING:
    from .store import DynamoDBStore

__getattr__ = lazy_exports(__name__, {"DynamoDBStore": ".store"})

__all__ = ["DynamoDBStore"]
