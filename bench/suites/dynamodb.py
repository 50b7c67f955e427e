"""DynamoDB (moto): DynamoDBStore against bare aioboto3 calls on the same table and the store's own client.

Bare: ``GetItem`` (consistent); ``PutItem``; ``BatchGetItem`` of 100 keys per request and
``BatchWriteItem`` of 25 items per request, requests sent concurrently; ``expire`` as concurrent
conditional ``UpdateItem`` (16 in flight). Items use the store's own layout, under another namespace.

Then a contended counter: 16 tasks in 2 processes increment one key with a get_versioned/cas retry
loop (consistent GetItem, then a PutItem conditioned on the item's ``ver``), against one
uncontended task in rounds alternating with it: increments/s, refused cas calls per increment, and
contended/uncontended throughput. moto serves one request at a time: the figures show the retry
loop's cost in requests, not AWS's latency or its per-item write limit (about 1,000 writes/s).
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any

from sessionkv import open_store
from sessionkv_dynamodb.layout import build_item, expiry_numbers, primary_key
from sessionkv_dynamodb.store import DynamoDBStore

from ..operations import ALL, PublishedKV
from ..report import Table
from ..suite import Context, compare_matrix, guarded, ratio_table

IN_FLIGHT = 16


class BareDynamoDB:
    """A ``KV`` of plain aioboto3 calls on ``client`` and ``table``, items laid out as the store lays them out."""

    supports = ALL

    def __init__(self, client: Any, table: str, namespace: str) -> None:
        self.client = client
        self.table = table
        self.ns = namespace
        self._slots = asyncio.Semaphore(IN_FLIGHT)

    async def get(self, key: str) -> object:
        return await self.client.get_item(TableName=self.table, Key=primary_key(self.ns, key), ConsistentRead=True)

    async def set(self, key: str, value: bytes, ttl: float) -> object:
        item = build_item(self.ns, key, value, time.time() + ttl)
        return await self.client.put_item(TableName=self.table, Item=item)

    async def mget(self, keys: list[str]) -> object:
        chunks = [keys[i : i + 100] for i in range(0, len(keys), 100)]
        requests = [
            {self.table: {"Keys": [primary_key(self.ns, k) for k in chunk], "ConsistentRead": True}} for chunk in chunks
        ]
        return await asyncio.gather(*(self.client.batch_get_item(RequestItems=r) for r in requests))

    async def mset(self, items: list[tuple[str, bytes, float]]) -> object:
        now = time.time()
        puts = [{"PutRequest": {"Item": build_item(self.ns, k, v, now + t)}} for k, v, t in items]
        chunks = [puts[i : i + 25] for i in range(0, len(puts), 25)]
        return await asyncio.gather(*(self.client.batch_write_item(RequestItems={self.table: c}) for c in chunks))

    async def expire(self, keys: list[str], ttl: float) -> object:
        exp, whole = expiry_numbers(time.time() + ttl)

        async def refresh(key: str) -> None:
            async with self._slots:
                await self.client.update_item(
                    TableName=self.table,
                    Key=primary_key(self.ns, key),
                    UpdateExpression="SET #exp = :exp, #ttl = :ttl",
                    ConditionExpression="attribute_exists(#pk)",
                    ExpressionAttributeNames={"#exp": "exp", "#ttl": "ttl", "#pk": "pk"},
                    ExpressionAttributeValues={":exp": {"N": exp}, ":ttl": {"N": whole}},
                )

        return await asyncio.gather(*(refresh(key) for key in keys))


async def run(context: Context) -> None:
    table = ratio_table(
        "DynamoDB (moto server): DynamoDBStore vs bare aioboto3 on the same table",
        "moto answers from one Python process: these ratios show client-side cost, not AWS latency.",
    )
    context.report.tables.append(table)

    async def measure() -> None:
        url = context.servers.dynamodb("sessionkv-bench")
        async with DynamoDBStore(url, namespace="bench-ours:") as store:
            bare = BareDynamoDB(store.client, store.table, "bench-bare:")
            group = "DynamoDB: ours vs bare aioboto3"
            await compare_matrix(context, table, group, PublishedKV(store), bare, "aioboto3")

    await guarded(context, "dynamodb", table, measure)

    counter = Table(
        "DynamoDB (moto server): contended counter (get_versioned/cas retry loop on one key)",
        ["run", "increments/s", "refused cas per increment", "throughput vs 1 task (median, min-max)"],
        notes=[
            "Rounds of each side alternate; every round checks the stored counter against the increments reported.",
            "Each attempt is a consistent GetItem plus a conditional PutItem; AWS charges a refused PutItem too.",
        ],
    )
    context.report.tables.append(counter)
    url = context.servers.dynamodb("sessionkv-bench")
    await guarded(context, "dynamodb contended counter", counter, lambda: contended_counter(context, url, counter))


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
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}  # AWS settings (dummy keys for moto) included
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
    async with open_store(url, namespace=namespace) as store:  # the table exists before the children open it
        children = start_counters(url, namespace, tasks_each, seconds)
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
