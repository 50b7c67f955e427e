"""memory:// against a plain dict store doing the same work (the published in-memory algorithm)."""

from __future__ import annotations

from sessionkv_memory.store import MemoryStore

from ..operations import PublishedKV
from ..published import PublishedMemoryStore
from ..suite import Context, compare_matrix, guarded, ratio_table

GOAL = 2.0


async def run(context: Context) -> None:
    table = ratio_table(
        "memory:// vs a plain dict store (the published InMemorySessionKVStore algorithm)",
        f"Goal: every operation within {GOAL:g}x. memory:// validates every input, prefixes its namespace and",
        "keeps a directory index (listing a call costs its sessions); the dict store does none of that.",
    )
    context.report.tables.append(table)

    async def measure() -> None:
        async with MemoryStore() as store:
            baseline = PublishedMemoryStore()
            await compare_matrix(
                context, table, "memory:// vs dict", PublishedKV(store), PublishedKV(baseline), "dict store"
            )

    await guarded(context, "memory", table, measure)
