"""memory:// against a plain dict store doing the same work (the published in-memory algorithm).

After the operation matrix, two rows show where ``mset``'s time goes: the input checks alone
(``check_items``, what every store runs before a write, its per-item loop compiled with mypyc when
the install could) against the dict store's whole ``mset``.
"""

from __future__ import annotations

from sessionkv import StoreCapabilities, batch_check
from sessionkv.validation import check_items
from sessionkv_memory.store import MemoryStore

from ..operations import TTL, VALUE, PublishedKV
from ..published import PublishedMemoryStore
from ..ratio import compare
from ..suite import Context, compare_matrix, guarded, ratio_table

GOAL = 2.0


async def run(context: Context) -> None:
    table = ratio_table(
        "memory:// vs a plain dict store (the published InMemorySessionKVStore algorithm)",
        f"Goal: every operation within {GOAL:g}x. memory:// validates every input and keeps a directory index",
        "(listing a call costs its sessions); the dict store does neither. The 'checks only' rows time mset's",
        "input checks alone (every item a tuple of a non-empty ASCII str, bytes and a finite float ttl in",
        "range) against the dict store's whole mset. Interpreted, those exact-type checks cost more than the",
        "dict write itself (mset near 2.5x); the install compiles that loop with mypyc when it can (the",
        f"header says whether this run's was): {'compiled' if batch_check.COMPILED else 'NOT compiled'} here.",
    )
    context.report.tables.append(table)

    async def measure() -> None:
        async with MemoryStore() as store:
            baseline = PublishedMemoryStore()
            await compare_matrix(
                context, table, "memory:// vs dict", PublishedKV(store), PublishedKV(baseline), "dict store"
            )
            for size in (100,) if context.profile.quick else (100, 1000):
                items = [(f"bench/k{i}", VALUE, TTL) for i in range(size)]
                caps = store.capabilities

                async def checks_only(
                    items: list[tuple[str, bytes, float]] = items, caps: StoreCapabilities = caps
                ) -> object:
                    return check_items(items, caps)

                async def dict_mset(items: list[tuple[str, bytes, float]] = items) -> object:
                    return await baseline.mset(items)

                ratio = await compare(checks_only, dict_mset, context.profile)
                context.report.ratio_row(
                    table, "memory:// vs dict", f"mset({size:,}) checks only", "dict store mset", ratio
                )

    await guarded(context, "memory", table, measure)
