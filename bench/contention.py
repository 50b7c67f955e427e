"""A contended counter on any store URL: 16 tasks in 2 processes increment one key with a get_versioned/cas loop.

Rounds alternate with one uncontended task on the same store; every round checks the stored counter
against the increments reported (a lost increment is an error, not a figure). Each server backend's
suite adds the table with ``counter_table`` and ``contended_counter``.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys

from sessionkv import open_store

from .report import Table
from .suite import Context, guarded


def counter_table(backend: str, *notes: str) -> Table:
    """The contended counter's table for ``backend``."""
    return Table(
        f"{backend}: contended counter (get_versioned/cas retry loop on one key)",
        ["run", "increments/s", "refused cas per increment", "throughput vs 1 task (median, min-max)"],
        notes=[
            "Rounds of each side alternate; every round checks the stored counter against the increments reported.",
            *notes,
        ],
    )


async def add_counter(context: Context, backend: str, url: str, *notes: str) -> None:
    """Measure the contended counter on ``url`` and add its table to the report."""
    table = counter_table(backend, *notes)
    context.report.tables.append(table)
    await guarded(context, f"{backend} contended counter", table, lambda: contended_counter(context, url, table))


#: The contended counter: processes, and tasks spread over them.
COUNTER_PROCESSES, COUNTER_TASKS = 2, 16
#: One counting process (``python -c URL NAMESPACE TASKS SECONDS``): says "ready", waits for the "go" key, then
#: its tasks increment "counter" with a get_versioned/cas retry loop for SECONDS; prints what it did as JSON.
COUNTER_PROGRAM = """
import asyncio, json, sys, time
from sessionkv import open_store

async def main(url, namespace, tasks, seconds):
    done = conflicts = 0

    async def count(store, deadline):
        nonlocal done, conflicts
        while time.perf_counter() < deadline:
            current = await store.get_versioned("counter")
            number = int(current.value) + 1 if current is not None else 1
            version = current.version if current is not None else None
            if await store.cas("counter", str(number).encode(), 600, version=version) is None:
                conflicts += 1
            else:
                done += 1

    async with open_store(url, namespace=namespace) as store:
        await store.get("warm-up")
        print("ready", flush=True)
        while await store.get("go") is None:
            await asyncio.sleep(0.005)
        start = time.perf_counter()
        await asyncio.gather(*(count(store, start + seconds) for _ in range(tasks)))
        elapsed = time.perf_counter() - start
    print(json.dumps({"increments": done, "conflicts": conflicts, "seconds": elapsed}))

asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])))
"""


def start_counters(url: str, namespace: str, tasks_each: list[int], seconds: float) -> list[subprocess.Popen[str]]:
    """One counting process per entry of ``tasks_each`` (its number of tasks), all in ``namespace``."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    argv = [sys.executable, "-c", COUNTER_PROGRAM, url, namespace]
    return [
        subprocess.Popen([*argv, str(n), str(seconds)], stdout=subprocess.PIPE, text=True, env=env) for n in tasks_each
    ]


async def counter_round(url: str, processes: int, tasks: int, seconds: float) -> tuple[float, int, int]:
    """``tasks`` counting tasks over ``processes`` processes for ``seconds``: (increments/s, increments, conflicts).

    Checks the stored counter against the increments reported: a lost increment is an error, not a figure.
    """
    namespace = f"bench-counter-{os.getpid()}-{processes}x{tasks}:"
    tasks_each = [tasks // processes + (1 if i < tasks % processes else 0) for i in range(processes)]
    children = start_counters(url, namespace, tasks_each, seconds)
    async with open_store(url, namespace=namespace) as store:
        try:
            for child in children:  # every process connected: they start together
                assert child.stdout is not None
                await asyncio.to_thread(child.stdout.readline)
            await store.set("go", b"1", 600)
            reports = [json.loads((await asyncio.to_thread(child.communicate))[0]) for child in children]
            stored = await store.get("counter")
        finally:
            for child in children:
                if child.poll() is None:
                    child.kill()
                    child.wait()
            await store.delete(["go", "counter"])
    increments = sum(report["increments"] for report in reports)
    if stored != str(increments).encode():
        raise RuntimeError(f"the counter holds {stored!r} after {increments} increments: one was lost")
    conflicts = sum(report["conflicts"] for report in reports)
    return increments / max(report["seconds"] for report in reports), increments, conflicts


async def contended_counter(context: Context, url: str, table: Table) -> None:
    """Rounds of 1 task then 16 tasks in 2 processes (alternating which goes first); median throughputs."""
    rounds, seconds = (1, 1.0) if context.profile.quick else (3, 3.0)
    single: list[float] = []
    contended: list[tuple[float, int, int]] = []
    for i in range(rounds):
        for side in (0, 1) if i % 2 == 0 else (1, 0):
            if side == 0:
                single.append((await counter_round(url, 1, 1, seconds))[0])
            else:
                contended.append(await counter_round(url, COUNTER_PROCESSES, COUNTER_TASKS, seconds))
    ratios = [rate / base for (rate, _, _), base in zip(contended, single, strict=True)]
    increments = sum(n for _, n, _ in contended)
    conflicts = sum(c for _, _, c in contended)
    table.rows += [
        ["1 task, 1 process", f"{statistics.median(single):.0f}", "0", "1"],
        [
            f"{COUNTER_TASKS} tasks, {COUNTER_PROCESSES} processes",
            f"{statistics.median(rate for rate, _, _ in contended):.0f}",
            f"{conflicts / max(increments, 1):.2f}",
            f"**{statistics.median(ratios):.2f}** ({min(ratios):.2f}-{max(ratios):.2f})",
        ],
    ]
