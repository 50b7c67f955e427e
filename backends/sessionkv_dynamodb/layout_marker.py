"""The item naming a table's layout: written into an empty table, checked by every ``start()``.

A table written by an older sessionkv (layout 1: one partition per top-level directory, so every session
record of a namespace shared one partition key) has no such item: this sessionkv would not find its per-call
items, so ``start()`` refuses it in one line until ``python -m sessionkv_dynamodb.migrate`` moved them.
One consistent GetItem per start; an empty table costs one Scan of one item and one conditional PutItem more,
and a table found holding items without a marker one GetItem more (another store may have marked it meanwhile).
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError  # type: ignore[import-untyped]

from sessionkv import ConfigurationError

from .layout import LAYOUT, LAYOUT_ATTR, LAYOUT_PK, LAYOUT_SK, PK, SK

MARKER_KEY = {PK: {"S": LAYOUT_PK}, SK: {"S": LAYOUT_SK}}


def marker_item(layout: int = LAYOUT) -> dict[str, Any]:
    """The layout item of a table in ``layout``."""
    return {**MARKER_KEY, LAYOUT_ATTR: {"N": str(layout)}}


async def read_layout(client: Any, table: str) -> int | None:
    """The layout the table names, or ``None`` if it names none."""
    reply = await client.get_item(TableName=table, Key=MARKER_KEY, ConsistentRead=True)
    item = reply.get("Item")
    return None if not item or LAYOUT_ATTR not in item else int(item[LAYOUT_ATTR]["N"])


async def write_layout(client: Any, table: str) -> None:
    """Name this layout in the table (overwriting an older one: ``migrate`` calls it once the items moved)."""
    await client.put_item(TableName=table, Item=marker_item())


async def check_layout(client: Any, table: str, where: str, *, new_table: bool = False) -> None:
    """Return if the table is in this layout (marking it when empty); raise ``ConfigurationError`` otherwise.

    ``new_table``: this store created the table (or found another store creating it) a moment ago. Such a table
    is this layout's whatever it holds by now: stores started earlier on the same endpoint (say, before the
    server lost its tables and they were created again) may already write into it before the marker is.
    """
    if new_table:
        await _mark_unless_named(client, table)
    layout = await read_layout(client, table)
    if layout == LAYOUT:
        return
    if layout is None:
        page = await client.scan(
            TableName=table, Limit=1, ProjectionExpression="#pk", ExpressionAttributeNames={"#pk": PK}
        )
        if not page.get("Items") and not page.get("LastEvaluatedKey"):
            # an empty table: ours from now on (another store marking it first: check what it named)
            if not await _mark_unless_named(client, table):
                await check_layout(client, table, where)
            return
        # Items, and no marker when we looked: another store starting beside this one may have marked the table
        # (the marker is an item too) and written since. A store of this layout marks before it writes, so a
        # marker absent after the items were seen means they are an older sessionkv's.
        layout = await read_layout(client, table)
        if layout == LAYOUT:
            return
    if layout is None:
        raise ConfigurationError(
            f"DynamoDB table {table!r} ({where}) holds items of sessionkv's layout 1 (one partition per top-level "
            f"directory): stop its writers and run `python -m sessionkv_dynamodb.migrate dynamodb://{table}` once, "
            "or use a new table"
        )
    raise ConfigurationError(
        f"DynamoDB table {table!r} ({where}) is in sessionkv layout {layout}, which this version (layout {LAYOUT}) "
        "does not read: upgrade sessionkv"
    )


async def _mark_unless_named(client: Any, table: str) -> bool:
    """Name this layout in the table unless a layout is named already (first writer wins); True if this call did."""
    try:
        await client.put_item(
            TableName=table,
            Item=marker_item(),
            ConditionExpression="attribute_not_exists(#pk)",
            ExpressionAttributeNames={"#pk": PK},
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise
        return False
    return True
