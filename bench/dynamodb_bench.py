"""DynamoDBStore batches against the naive one-request-per-key loop on the same client, and what a heartbeat costs.

Starts its own moto DynamoDB server on a free loopback port (tests/servers helpers), or uses
``SESSIONKV_DYNAMODB_URL`` (a real table: mind the bill). Prints, in one run:

- ``mget(N)`` (BatchGetItem, 100 keys per request, concurrent) vs N GetItem calls, and ``mset(N)``
  (BatchWriteItem, 25 per request, concurrent) vs N PutItem calls: seconds, HTTP requests, ratio;
- the capacity units one registry heartbeat of ``--sessions`` sessions consumes, from
  ``ReturnConsumedCapacity="TOTAL"`` injected into every request, as the endpoint reports them;
- for comparison, listing one call's sessions (a Query) and the whole namespace (a Scan).

    python bench/dynamodb_bench.py [--keys 1000] [--sessions 1000] [--pairs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from servers.dynamodb_process import start_moto, table_url, use_dummy_credentials  # noqa: E402
from sessionkv import SessionRegistry  # noqa: E402
from sessionkv.registry.keys import call_prefix  # noqa: E402
from sessionkv_dynamodb.layout import primary_key  # noqa: E402
from sessionkv_dynamodb.store import DynamoDBStore  # noqa: E402

VALUE = b"x" * 200
TTL = 300.0
Call = Callable[[], Awaitable[object]]


class Meter:
    """Counts HTTP requests (every attempt) and sums reported capacity units, per operation, on one client."""

    def __init__(self, client: Any) -> None:
        self.requests: Counter[str] = Counter()
        self.capacity: Counter[str] = Counter()
        self.reported: Counter[str] = Counter()
        self.capture = False
        events = client.meta.events
        events.register("before-send.dynamodb", self._sent)
        events.register("before-parameter-build.dynamodb", self._ask_capacity)
        events.register("after-call.dynamodb", self._read_capacity)

    def _sent(self, event_name: str, **_: Any) -> None:
        self.requests[event_name.rsplit(".", 1)[-1]] += 1

    def _ask_capacity(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if self.capture and "ReturnConsumedCapacity" in model.input_shape.members:
            params["ReturnConsumedCapacity"] = "TOTAL"

    def _read_capacity(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        if not self.capture:
            return
        consumed = parsed.get("ConsumedCapacity")
        entries = consumed if isinstance(consumed, list) else [consumed] if consumed else []
        for entry in entries:
            self.capacity[model.name] += float(entry.get("CapacityUnits", 0.0))
            self.reported[model.name] += 1

    @contextmanager
    def window(self, *, capacity: bool = False) -> Iterator[Meter]:
        """Reset the counters; with ``capacity``, ask every request of the window for its consumed capacity."""
        self.requests.clear()
        self.capacity.clear()
        self.reported.clear()
        self.capture = capacity
        try:
            yield self
        finally:
            self.capture = False


async def seconds(call: Call) -> float:
    start = time.perf_counter()
    await call()
    return time.perf_counter() - start


async def compare(meter: Meter, batched: Call, naive: Call, pairs: int) -> tuple[float, float, int, int]:
    """Median seconds of each side over alternating ``pairs`` and the requests one run of each sends."""
    with meter.window():
        await batched()
        batched_requests = sum(meter.requests.values())
    with meter.window():
        await naive()
        naive_requests = sum(meter.requests.values())
    batched_times, naive_times = [], []
    for i in range(pairs):
        if i % 2 == 0:
            batched_times.append(await seconds(batched))
            naive_times.append(await seconds(naive))
        else:
            naive_times.append(await seconds(naive))
            batched_times.append(await seconds(batched))
    return statistics.median(batched_times), statistics.median(naive_times), batched_requests, naive_requests


def naive_calls(store: DynamoDBStore, keys: list[str]) -> tuple[Call, Call]:
    """One GetItem / PutItem per key on the store's own client: what a per-key implementation sends."""
    client, table, ns = store.client, store.table, store.namespace

    async def get_each() -> None:
        for key in keys:
            await client.get_item(TableName=table, Key=primary_key(ns, key), ConsistentRead=True)

    async def put_each() -> None:
        expires = time.time() + TTL
        for key in keys:
            item = {**primary_key(ns, key), "v": {"B": VALUE}, "exp": {"N": f"{expires:.6f}"}}
            await client.put_item(TableName=table, Item=item)

    return get_each, put_each


async def heartbeat_cost(url: str, sessions: int, calls: int) -> None:
    store = DynamoDBStore(url, namespace=f"bench-registry-{os.getpid()}:")
    async with SessionRegistry(store, node_id="bench-node", ttl=30) as registry:
        meter = Meter(store.client)
        for i in range(sessions):
            await registry.register(f"call-{i % calls}", f"session-{i}", metadata={"lang": "en", "i": i})
        await registry.heartbeat()
        beats = 10
        with meter.window(capacity=True):
            for _ in range(beats):
                result = await registry.heartbeat()
        per_beat = {op: units / beats for op, units in meter.capacity.items()}
        requests = {op: n / beats for op, n in meter.requests.items()}
        print(f"\nregistry heartbeat, {sessions} sessions (mean of {beats} steady-state beats; {result})")
        print(f"  requests per heartbeat: {_fmt(requests)}")
        if meter.reported:
            print(f"  capacity units per heartbeat as reported: {_fmt(per_beat)} (total {sum(per_beat.values()):.1f})")
        else:
            print("  the endpoint reported no ConsumedCapacity")
        writes = sum(n for op, n in requests.items() if op in ("UpdateItem", "PutItem", "BatchWriteItem"))
        print(f"  AWS pricing of the same requests: about {writes:g} WCU per heartbeat (records under 1 KB: 1 each)")
        with meter.window(capacity=True):
            found = await store.keys(call_prefix("call-0"))
            query_units = sum(meter.capacity.values())
        with meter.window(capacity=True):
            everything = await store.keys("")
            scan_units = sum(meter.capacity.values())
        print(f"  keys(one call's prefix): {len(found)} keys, {query_units:.1f} units reported (Query)")
        print(f"  keys(''): {len(everything)} keys, {scan_units:.1f} units reported (Scan: AWS bills every item read)")


def _fmt(counts: dict[str, float]) -> str:
    return ", ".join(f"{op} {n:g}" for op, n in sorted(counts.items())) or "none"


async def run(url: str, n: int, sessions: int, pairs: int) -> None:
    async with DynamoDBStore(url, namespace=f"bench-{os.getpid()}:") as store:
        meter = Meter(store.client)
        keys = [f"bench/{i}" for i in range(n)]
        items = [(key, VALUE, TTL) for key in keys]
        get_each, put_each = naive_calls(store, keys)
        print(f"{store.config.describe()}; {n} keys, {len(VALUE)}-byte values; median of {pairs} alternating runs")
        print(f"{'operation':<12}{'batched s':>11}{'naive s':>10}{'naive/batched':>15}{'requests':>10}{'naive':>7}")
        await store.mset(items)
        for name, batched, naive in (
            (f"mget({n})", lambda: store.mget(keys), get_each),
            (f"mset({n})", lambda: store.mset(items), put_each),
        ):
            b, s, b_req, s_req = await compare(meter, batched, naive, pairs)
            print(f"{name:<12}{b:>11.3f}{s:>10.3f}{s / b:>15.1f}{b_req:>10}{s_req:>7}")
        await store.delete(keys)
    await heartbeat_cost(url, sessions, max(1, sessions // 4))
    print(
        "\nOn AWS: a strongly consistent read of an item up to 4 KB is 1 RCU; a write of up to 1 KB is 1 WCU "
        "(an UpdateItem whose condition fails is charged too); BatchGetItem/BatchWriteItem cost the same per "
        "item as single calls: batching saves requests and latency, not capacity."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=1000, help="keys per mget/mset")
    parser.add_argument("--sessions", type=int, default=1000, help="sessions in the registry heartbeat")
    parser.add_argument("--pairs", type=int, default=3, help="alternating batched/naive runs")
    args = parser.parse_args()
    url = os.environ.get("SESSIONKV_DYNAMODB_URL")
    server = None
    if not url:
        use_dummy_credentials()
        server = start_moto()
        url = table_url(f"http://{server.host}:{server.port}", "sessionkv-bench")
    try:
        asyncio.run(run(url, args.keys, args.sessions, args.pairs))
    finally:
        if server is not None:
            server.cleanup()


if __name__ == "__main__":
    main()
