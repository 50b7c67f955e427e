"""etcd: EtcdStore against the bare etcd3-py client (the client the design names) on the same server.

Bare: ``range`` for get and, batched in transactions of 128 ranges, for mget; ``set`` and ``mset``
grant one lease and ``put`` under it (mset: transactions of 128 puts); ``expire`` grants a lease and
moves each key that exists with one compare-and-put transaction per key (etcd has no per-key
condition inside one transaction). Ours reuses recent leases and batches the same way.

Then a contended counter: 16 tasks in 2 processes increment one key with a get_versioned/cas retry
loop, against one uncontended task in rounds alternating with it: increments/s, refused cas calls
per increment, and contended/uncontended throughput.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import warnings
from typing import Any

from sessionkv import StoreURL
from sessionkv_etcd.store import EtcdStore

from ..operations import ALL, PublishedKV
from ..report import Table
from ..suite import Context, compare_matrix, guarded, ratio_table

TXN_OPS = 128


class BareEtcd:
    """A ``KV`` on etcd3-py's ``AioClient`` with keys ``prefix + key`` (UTF-8 bytes)."""

    supports = ALL

    def __init__(self, client: Any, prefix: str) -> None:
        self.client = client
        self.prefix = prefix

    def _raw(self, key: str) -> bytes:
        return (self.prefix + key).encode()

    async def get(self, key: str) -> object:
        return await self.client.range(self._raw(key))

    async def set(self, key: str, value: bytes, ttl: float) -> object:
        lease = (await self.client.lease_grant(int(ttl))).ID
        return await self.client.put(self._raw(key), value, lease=lease)

    async def mget(self, keys: list[str]) -> object:
        raw = [self._raw(key) for key in keys]
        for start in range(0, len(raw), TXN_OPS):
            ranges = [self.client.range(key, txn_obj=True) for key in raw[start : start + TXN_OPS]]
            await self.client.txn([], ranges, [])
        return None

    async def mset(self, items: list[tuple[str, bytes, float]]) -> object:
        lease = (await self.client.lease_grant(int(items[0][2]))).ID
        for start in range(0, len(items), TXN_OPS):
            chunk = items[start : start + TXN_OPS]
            puts = [self.client.put(self._raw(k), v, lease=lease, txn_obj=True) for k, v, _ in chunk]
            await self.client.txn([], puts, [])
        return None

    async def expire(self, keys: list[str], ttl: float) -> object:
        lease = (await self.client.lease_grant(int(ttl))).ID
        for key in keys:
            raw = self._raw(key)
            exists = {"key": raw, "target": "CREATE", "result": "GREATER", "create_revision": 0}
            put = self.client.put(raw, None, ignore_value=True, lease=lease, txn_obj=True)
            await self.client.txn([exists], [put], [])
        return None


async def run(context: Context) -> None:
    table = ratio_table(
        "etcd: EtcdStore vs bare etcd3-py (same server)",
        "Ours validates input, reuses recent leases and sends transactions of up to 128 operations;",
        "the bare expire is one compare-and-put transaction per key.",
    )
    context.report.tables.append(table)
    url = context.servers.etcd()

    async def measure() -> None:
        from etcd3 import AioClient

        host = StoreURL.parse(url).host
        assert host is not None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # etcd3-py warns about its own version probe
            client = AioClient(host=host.host, port=host.port or 2379)
        try:
            async with EtcdStore(url, namespace="bench-ours:") as store:
                group = "etcd: ours vs bare etcd3-py"
                await compare_matrix(
                    context, table, group, PublishedKV(store), BareEtcd(client, "bench-bare:"), "etcd3-py"
                )
        finally:
            await client.close()

    await guarded(context, "etcd", table, measure)

    counter = Table(
        "etcd: contended counter (get_versioned/cas retry loop on one key)",
        ["run", "increments/s", "refused cas per increment", "throughput vs 1 task (median, min-max)"],
        notes=[
            "Rounds of each side alternate; every round checks the stored counter against the increments reported.",
            "A refused cas still costs etcd a raft commit: under heavy contention a lease serialises writers better.",
        ],
    )
    context.report.tables.append(counter)
    await guarded(context, "etcd contended counter", counter, lambda: contended_counter(context, url, counter))


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
    async with EtcdStore(url, namespace=namespace) as store:
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
