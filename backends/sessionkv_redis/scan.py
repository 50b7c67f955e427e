"""Listing without an index: SCAN MATCH with the prefix glob-escaped (every primary of a cluster), never KEYS."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from redis.asyncio import Redis, RedisCluster

#: How many keys SCAN examines per call; large, so listing costs few round trips.
SCAN_COUNT = 1000
_GLOB_SPECIAL = re.compile(r"([\\*?\[\]])")


def glob_escape(text: str) -> str:
    """Escape Redis glob characters (``* ? [ ] \\``) so SCAN MATCH takes ``text`` literally."""
    return _GLOB_SPECIAL.sub(r"\\\1", text)


async def scan_matching(client: Redis | RedisCluster, start: str) -> tuple[set[bytes], int]:
    """Every raw key starting with ``start`` (a set: SCAN may return a key twice) and the COUNT examined.

    Server errors propagate (the store turns them into ``StoreError``).
    """
    pattern = glob_escape(start) + "*"
    found: set[bytes] = set()
    if isinstance(client, RedisCluster):
        return found, await _scan_cluster(client, pattern, found)
    examined = 0
    cursor: Any = 0
    while True:
        page: Any = await client.scan(cursor, match=pattern, count=SCAN_COUNT)
        cursor = page[0]
        examined += SCAN_COUNT
        found.update(page[1])
        if int(cursor) == 0:
            return found, examined


async def _scan_cluster(client: RedisCluster, pattern: str, found: set[bytes]) -> int:
    """Every primary: the first SCAN goes to all at once (with the client's retries and topology refresh, as
    ``scan_iter`` does), then each primary's cursor is followed on that node, concurrently."""
    reply: Any = await client.scan(0, match=pattern, count=SCAN_COUNT)
    cursors: dict[str, int] = reply[0]
    examined = [SCAN_COUNT * len(cursors)]
    found.update(reply[1])

    async def follow(name: str, cursor: int) -> None:
        node = client.get_node(node_name=name)
        while cursor != 0:
            page: Any = await client.scan(cursor, match=pattern, count=SCAN_COUNT, target_nodes=node)
            cursor = page[0][name]
            examined[0] += SCAN_COUNT
            found.update(page[1])

    await asyncio.gather(*(follow(name, cursor) for name, cursor in cursors.items() if cursor != 0))
    return examined[0]


def decoded(raw_keys: Any) -> list[str]:
    """UTF-8 keys as str; a key that is not UTF-8 was not written by sessionkv and is not ours to list."""
    out: list[str] = []
    for raw in raw_keys:
        try:
            out.append(raw.decode())
        except UnicodeDecodeError:
            continue
    return out
