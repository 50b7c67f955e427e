"""Move a table's items to this sessionkv's layout: ``python -m sessionkv_dynamodb.migrate dynamodb://TABLE?...``.

Layout 1 kept every key of a top-level directory in one partition; layout 2 gives each call of the registry's
``s/``, ``c/`` and ``a/`` directories a partition of its own (``sessionkv_dynamodb.layout``). The migration scans
the table once, rewrites each item whose partition key changes under its new key (same attributes, expiry and
version), deletes the old one, then names layout 2 in the table. Stop the table's writers first (a registry
re-registers its sessions at its next heartbeat anyway); running it again moves nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import dataclass
from typing import Any

from sessionkv import ConfigurationError, StoreURL

from .config import DynamoDBConfig
from .layout import FULL_KEY, LAYOUT_PK, NAMESPACE, PK, SK, partition_key, partition_of, stored_key
from .layout_marker import write_layout


@dataclass(frozen=True)
class Migrated:
    """What a migration did: items read, and items moved to a new partition key."""

    scanned: int
    moved: int


def namespace_of(item: dict[str, Any]) -> str | None:
    """The namespace of an item: from ``ns`` (hashed partition keys), else the length-prefixed ``pk``."""
    if NAMESPACE in item:
        return str(item[NAMESPACE]["S"])
    pk = str(item[PK]["S"])
    size, colon, rest = pk.partition(":")
    if not colon or not size.isdigit() or len(rest) < int(size):
        return None  # not an item of sessionkv's
    return rest[: int(size)]


async def migrate_items(client: Any, table: str) -> Migrated:
    """Rewrite every item whose partition key differs under this layout, then name the layout in the table."""
    scanned = moved = 0
    request: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
    while True:
        page = await client.scan(**request)
        for item in page.get("Items", []):
            scanned += 1
            namespace = namespace_of(item)
            if namespace is None or item[PK]["S"] == LAYOUT_PK or SK not in item:
                continue
            key = stored_key(item)
            pk, hashed = partition_key(namespace, partition_of(key))
            if pk == item[PK]["S"]:
                continue
            moved_item = {**item, PK: {"S": pk}}
            if hashed:
                moved_item[NAMESPACE] = {"S": namespace}
            if FULL_KEY in item:
                moved_item[FULL_KEY] = item[FULL_KEY]
            await client.put_item(TableName=table, Item=moved_item)
            await client.delete_item(TableName=table, Key={PK: item[PK], SK: item[SK]})
            moved += 1
        last = page.get("LastEvaluatedKey")
        if not last:
            break
        request["ExclusiveStartKey"] = last
    await write_layout(client, table)
    return Migrated(scanned=scanned, moved=moved)


async def migrate(url: str) -> Migrated:
    """Migrate the table of a ``dynamodb://`` URL (region, endpoint_url, profile... as the store takes them)."""
    config = DynamoDBConfig.from_url(StoreURL.parse(url), {})
    async with config.client_context(config.build_session()) as client:
        return await migrate_items(client, config.table)


def main(argv: list[str] | None = None) -> None:
    """Migrate one table, printing what moved."""
    parser = argparse.ArgumentParser(
        prog="python -m sessionkv_dynamodb.migrate", description="Move a sessionkv DynamoDB table to this layout."
    )
    parser.add_argument("url", help="dynamodb://TABLE?region=...[&endpoint_url=...]")
    args = parser.parse_args(argv)
    try:
        done = asyncio.run(migrate(args.url))
    except ConfigurationError as exc:
        print(f"sessionkv_dynamodb.migrate: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    except Exception as exc:  # the service failed: one line, not a traceback
        print(
            f"sessionkv_dynamodb.migrate: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
            file=sys.stderr,
        )
        raise SystemExit(1) from None
    print(f"{done.scanned} items read, {done.moved} moved; the table is in layout 2")


if __name__ == "__main__":
    main()
