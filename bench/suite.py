"""What every suite gets (profile, servers, report) and the store-vs-baseline matrix they share."""

from __future__ import annotations

import traceback
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from .latency import isolated
from .operations import KV, Operation, matrix
from .ratio import Profile, compare
from .report import LATENCY_COLUMNS, RATIO_COLUMNS, Report, Table, gap_row
from .servers import Servers


@dataclass
class Context:
    """One run: how long to measure, the servers started so far, and the report being filled."""

    profile: Profile
    servers: Servers
    report: Report


#: A suite: fills ``context.report`` with its tables.
Suite = Callable[[Context], Awaitable[None]]


def ratio_table(title: str, *notes: str) -> Table:
    """An empty table with the standard ratio columns."""
    return Table(title, list(RATIO_COLUMNS), notes=list(notes))


async def compare_matrix(
    context: Context,
    table: Table,
    group: str,
    ours: KV,
    baseline: KV,
    baseline_name: str,
    operations: Sequence[Operation] | None = None,
) -> None:
    """One row per operation: ``ours`` against ``baseline``; an operation the baseline lacks is a marked gap."""
    for op in matrix(context.profile.quick) if operations is None else operations:
        if op.name not in baseline.supports:
            table.rows.append(gap_row(op.label, baseline_name, f"{baseline_name} has no batch {op.name}"))
            continue
        await op.prepare(ours)
        await op.prepare(baseline)
        ratio = await compare(op.call(ours), op.call(baseline), context.profile)
        context.report.ratio_row(table, group, op.label, baseline_name, ratio)


def latency_table(title: str, *notes: str) -> Table:
    """An empty table with the one-call latency columns (``latency.isolated``)."""
    return Table(title, list(LATENCY_COLUMNS), notes=list(notes))


async def compare_one_calls(context: Context, table: Table, ours: KV, baseline: KV, baseline_name: str) -> None:
    """A ``get`` row and a ``set`` row: one call at a time on an idle client, ``ours`` against ``baseline``."""
    for op in (Operation("get"), Operation("set")):
        await op.prepare(ours)
        await op.prepare(baseline)
        latencies = await isolated(op.call(ours), op.call(baseline), context.profile)
        context.report.latency_row(table, op.label, baseline_name, latencies)


async def guarded(context: Context, name: str, table: Table, action: Callable[[], Awaitable[None]]) -> None:
    """Run ``action``; a failure becomes a marked gap in ``table`` and a line of the report, not a crash."""
    try:
        await action()
    except Exception as exc:  # a broken backend must not hide the others' figures
        reason = f"{name} failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        table.rows.append(gap_row(name, "", reason, len(table.columns)))
        context.report.failures.append(reason)
        traceback.print_exc()
