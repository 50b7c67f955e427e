"""The registry at scale, on every backend: heartbeat cost and keys written, and get_for_call among many sessions.

- ``heartbeat()`` of N sessions (1,000 and 10,000) against the published design's heartbeat: per
  session, ``get`` the record and ``set`` it back (only if it exists), on the same store. Keys
  written per heartbeat are ``HeartbeatResult.keys_written`` averaged over 2 x ROLLING_SLICES beats;
  store calls are counted by wrapping the store.
- ``get_for_call`` of a 10-session call in a store also holding many unrelated sessions against the
  same lookup in a store (another namespace, same server) holding only that call.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass

from sessionkv import SessionInfo, SessionKVStore, SessionRegistry, open_store
from sessionkv.registry.keys import session_key
from sessionkv.registry.registry import ROLLING_SLICES

from ..counting import counting
from ..ratio import Profile, compare, fmt_seconds
from ..report import Table, gap_row
from ..suite import Context, guarded

TTL = 60.0
CALL_SESSIONS = 10


@dataclass(frozen=True)
class Target:
    """One backend: how to get its URL, and the sizes it can take in this run."""

    name: str
    url: Callable[[Context, str], str]
    sessions: tuple[int, ...]
    others: int
    slow: bool = False


def targets(profile: Profile) -> list[Target]:
    quick = profile.quick
    fast_sizes = (1_000,) if quick else (1_000, 10_000)
    slow_sizes = (200,) if quick else (1_000, 10_000)
    fast_others, slow_others = (2_000, 200) if profile.smoke else (20_000, 2_000) if quick else (200_000, 20_000)
    return [
        Target("memory", lambda c, ns: "memory://", fast_sizes, fast_others),
        Target("redis", lambda c, ns: c.servers.redis(), fast_sizes, fast_others),
        # get_for_call only: the call's hash-tagged directory is indexed in its slot (no heartbeat rows)
        Target("redis cluster", lambda c, ns: c.servers.redis_cluster(), (), fast_others),
        Target("memcached", lambda c, ns: c.servers.memcached(), fast_sizes, fast_others),
        Target("etcd", lambda c, ns: c.servers.etcd(), slow_sizes, slow_others, slow=True),
        Target(
            "dynamodb", lambda c, ns: c.servers.dynamodb("sessionkv-bench-registry"), slow_sizes, slow_others, slow=True
        ),
    ]


async def published_heartbeat(store: SessionKVStore, keys: list[str], ttl: float) -> None:
    """The published design's heartbeat: per session, read the record and write it back if it still exists."""
    for key in keys:
        raw = await store.get(key)
        if raw is not None:
            await store.set(key, raw, ttl, only_if_exists=True)


async def register_many(registry: SessionRegistry, sessions: int) -> None:
    for i in range(sessions):
        await registry.register(f"call-{i // 4}", f"session-{i}", metadata={"agent": "bench", "n": i})


async def heartbeat_rows(context: Context, target: Target, sessions: int, table: Table) -> None:
    namespace = f"bench-hb-{sessions}-{os.getpid()}:"
    store = open_store(target.url(context, namespace), namespace=namespace)
    async with store, SessionRegistry(store, node_id="bench-node", ttl=TTL) as registry:
        await register_many(registry, sessions)
        keys = [session_key(call, session) for call, session in registry.owned_sessions()]
        await registry.heartbeat()
        beats = 2 * ROLLING_SLICES
        written = 0
        with counting(store) as calls:
            for _ in range(beats):
                written += (await registry.heartbeat()).keys_written
            ours_calls = sum(calls.values()) / beats
            calls.clear()
            await published_heartbeat(store, keys, registry.record_ttl)
            published_calls = sum(calls.values())
        # The published loop takes seconds on slow servers: one call per block, warmed up by the count above.
        slow = target.slow or sessions >= 10_000
        pairs = (1 if context.profile.quick or sessions >= 10_000 else 3) if target.slow else 3 if slow else 5
        ratio = await compare(
            registry.heartbeat,
            lambda: published_heartbeat(store, keys, registry.record_ttl),
            context.profile,
            pairs=pairs,
            calls_per_block=1 if slow else None,
        )
        label = f"{target.name}, {sessions:,} sessions"
        table.rows.append(
            [
                label,
                f"{written / beats:,.1f}",
                f"{sessions:,}",
                f"{ours_calls:g}",
                f"{published_calls:,}",
                fmt_seconds(ratio.subject_s),
                fmt_seconds(ratio.baseline_s),
                f"**{ratio.median:.2g}** ({ratio.p25:.2g}-{ratio.p75:.2g})",
            ]
        )
        context.report.bars.append(_bar(f"heartbeat {label} vs get+set loop", ratio))
        await store.delete(await store.keys(""))


async def fill_others(store: SessionKVStore, others: int) -> None:
    now = time.time()
    batch: list[tuple[str, bytes, float]] = []
    for i in range(others):
        call, session = f"other-call-{i // 10}", f"s{i}"
        batch.append((session_key(call, session), SessionInfo(session, call, "elsewhere", now).encode(), 3600.0))
        if len(batch) == 1000:
            await store.mset(batch)
            batch = []
    if batch:
        await store.mset(batch)


async def lookup_rows(context: Context, target: Target, table: Table) -> None:
    tag = os.getpid()
    empty_ns, full_ns = f"bench-gfc-empty-{tag}:", f"bench-gfc-full-{tag}:"
    empty = open_store(target.url(context, empty_ns), namespace=empty_ns)
    full = open_store(target.url(context, full_ns), namespace=full_ns)
    async with empty, full:
        started = time.perf_counter()
        await fill_others(full, target.others)
        filled = time.perf_counter() - started
        async with (
            SessionRegistry(empty, node_id="bench-node", ttl=TTL) as alone,
            SessionRegistry(full, node_id="bench-node", ttl=TTL) as crowded,
        ):
            for registry in (alone, crowded):
                for i in range(CALL_SESSIONS):
                    await registry.register("the-call", f"mine-{i}")
            assert len(await crowded.get_for_call("the-call")) == CALL_SESSIONS
            assert len(await alone.get_for_call("the-call")) == CALL_SESSIONS
            with counting(full) as calls:
                await crowded.get_for_call("the-call")
                trips = sum(calls.values())
            pairs = 5 if target.slow else context.profile.pairs
            ratio = await compare(
                lambda: crowded.get_for_call("the-call"),
                lambda: alone.get_for_call("the-call"),
                context.profile,
                pairs=pairs,
            )
            label = f"{target.name}, {target.others:,} others"
            table.rows.append(
                [
                    label,
                    f"{trips}",
                    fmt_seconds(ratio.baseline_s),
                    fmt_seconds(ratio.subject_s),
                    f"**{ratio.median:.2f}** ({ratio.p25:.2f}-{ratio.p75:.2f})",
                    f"{filled:.1f} s",
                ]
            )
            context.report.bars.append(_bar(f"get_for_call {label} vs empty store", ratio))
        for store in (empty, full):
            await store.delete(await store.keys(""))


def lookup_rows_table(where: str = "") -> Table:
    """The table ``lookup_rows`` fills (``where``: a backend, when a backend's own suite measures it)."""
    return Table(
        f"{where}get_for_call ({CALL_SESSIONS} sessions) with many unrelated sessions vs with none (same server)",
        [
            "backend, unrelated sessions",
            "store calls",
            "empty store",
            "crowded store",
            "crowded/empty time",
            "fill time",
        ],
        notes=["Goal (issue 14): crowded/empty within 3x. Store calls (keys, mget, node mget) counted by wrapping it."],
    )


def _bar(label: str, ratio: object) -> object:
    from ..ratio import Ratio
    from ..report import Bar

    assert isinstance(ratio, Ratio)
    return Bar("Registry: heartbeat vs published loop; get_for_call crowded vs empty", label, ratio)


async def run(context: Context) -> None:
    beat_table = Table(
        "Registry heartbeat vs the published per-session get-then-set loop (same store, same server)",
        [
            "backend, sessions",
            "keys written / heartbeat (ours)",
            "keys written (published)",
            "store calls / heartbeat (ours)",
            "store calls (published)",
            "ours per heartbeat",
            "published per heartbeat",
            "ours/published time",
        ],
        notes=[
            f"Keys written: `HeartbeatResult.keys_written` averaged over {2 * ROLLING_SLICES} heartbeats",
            "(goal <= 1 + N/10); the published loop writes every session. Store calls counted by wrapping the store.",
        ],
    )
    lookup_table = lookup_rows_table()
    context.report.tables += [beat_table, lookup_table]
    for target in targets(context.profile):
        for sessions in target.sessions:
            label = f"{target.name}, {sessions:,} sessions"
            await guarded(
                context, label, beat_table, lambda t=target, n=sessions: heartbeat_rows(context, t, n, beat_table)
            )
        await guarded(
            context, f"{target.name} get_for_call", lookup_table, lambda t=target: lookup_rows(context, t, lookup_table)
        )
    if context.profile.quick:
        beat_table.rows.append(gap_row("10,000 sessions", "", "not run in --quick", len(beat_table.columns)))
