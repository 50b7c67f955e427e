"""Tiered: ``tiered(redis, postgresql)`` against each of its tiers alone, on the same throwaway servers.

get of a hot key (written through, so the hot tier answers) against the Redis store alone (the goal: within
1.2x) and against the PostgreSQL store alone; set (durable first, then hot) against the PostgreSQL store
alone, which it must include. Each store has a namespace of its own; ratios come from alternating blocks of
the same run.
"""

from __future__ import annotations

from sessionkv import tiered
from sessionkv_postgres.store import PostgresStore
from sessionkv_redis.store import RedisStore

from ..operations import Operation, PublishedKV
from ..ratio import compare
from ..suite import Context, guarded, ratio_table

GROUP = "tiered(redis, postgresql): vs each tier alone"


async def run(context: Context) -> None:
    table = ratio_table(
        "Tiered: tiered(redis, postgresql) vs the Redis store alone and the PostgreSQL store alone",
        "get: a hot key (written through the tiered store, so Redis answers); the goal is within 1.2x Redis alone.",
        "set: durable first (PostgreSQL), then hot (Redis), under the key's in-process lock; against PostgreSQL alone",
        "it costs one Redis round trip more.",
    )
    context.report.tables.append(table)
    redis_url, postgres_url = context.servers.redis(), context.servers.postgresql()

    async def against_tiers() -> None:
        store = tiered(
            RedisStore(redis_url, namespace="bench-tiered:"), PostgresStore(postgres_url, namespace="bench-tiered:")
        )
        async with (
            store,
            RedisStore(redis_url, namespace="bench-hot:") as hot,
            PostgresStore(postgres_url, namespace="bench-durable:") as durable,
        ):
            ours = PublishedKV(store)
            rows = [(Operation("get"), hot, "redis alone"), (Operation("get"), durable, "postgresql alone")]
            rows.append((Operation("set"), durable, "postgresql alone"))
            for op, alone, name in rows:
                baseline = PublishedKV(alone)
                await op.prepare(ours)
                await op.prepare(baseline)
                ratio = await compare(op.call(ours), op.call(baseline), context.profile)
                context.report.ratio_row(table, GROUP, op.label, name, ratio)
            for each in (store, hot, durable):
                await each.delete(await each.keys(""))

    await guarded(context, "tiered", table, against_tiers)
