"""MemcachedStore against bare aiomcache doing the same work, and directory listing against cache size, one run.

Starts its own memcached on a free loopback port (tests/servers helpers), or uses
``SESSIONKV_MEMCACHED_URL``. Prints ops/s (calls per second, a batch counts once) and the ratios:

- ``mget(100)``, ``mset(100)``, ``expire(100)``: the store vs bare ``aiomcache.Client`` with the same
  pool size (``multi_get`` of the 100 keys; ``asyncio.gather`` of 100 ``set``/``touch`` calls, the
  concurrent way aiomcache offers). The store also maintains its directory index on ``mset``.
- ``keys(directory)`` with 100 matches in a namespace that also holds 100,000 unrelated keys (in
  10,000 other directories and the root) vs the same listing in a namespace holding only the 100.
- A contended counter: 16 tasks in 2 processes (8 each) increment one key with a get-version /
  compare-and-set retry loop; the store (``get_versioned``/``cas``) vs bare aiomcache (``gets``/``cas``,
  ``add`` when absent), alternating rounds. Prints increments/s and conflicts (refused cas) per increment.

    python bench/memcached_bench.py [--block 0.05] [--pairs 21] [--counter-only] [--rounds 5] [--increments 50]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiomcache

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from servers.memcached_process import start_memcached  # noqa: E402
from sessionkv import StoreURL  # noqa: E402
from sessionkv_memcached.store import MemcachedStore  # noqa: E402

BATCH = 100
VALUE = b"x" * 100
TTL = 60.0
POOL = 4
UNRELATED = 100_000
#: The contended counter: processes, and tasks in each.
COUNTER_PROCESSES, COUNTER_TASKS = 2, 8
Call = Callable[[], Awaitable[object]]

#: One counting process (argv: url namespace kind tasks increments; kind "store" or "bare"): says it is ready,
#: waits for the "go" key, then each task makes ``increments`` increments; prints counts and its end time.
COUNTER_WORKER = """
import asyncio, json, os, sys, time
import aiomcache
from sessionkv import StoreURL, open_store

async def main(url, namespace, kind, tasks, increments):
    conflicts = 0
    host = StoreURL.parse(url).host
    bare = aiomcache.Client(host.host, host.port or 11211, pool_size=tasks)
    raw_key = (namespace + "bare-counter").encode()

    async def store_increment(store):
        nonlocal conflicts
        while True:
            current = await store.get_versioned("counter")
            number = int(current.value) + 1 if current is not None else 1
            version = current.version if current is not None else None
            if await store.cas("counter", str(number).encode(), 600, version=version) is not None:
                return
            conflicts += 1

    async def bare_increment():
        nonlocal conflicts
        while True:
            value, token = await bare.gets(raw_key)
            if value is None:
                done = await bare.add(raw_key, b"1", 600)
            else:
                done = await bare.cas(raw_key, str(int(value) + 1).encode(), token, 600)
            if done:
                return
            conflicts += 1

    async with open_store(url, namespace=namespace, pool_size=tasks) as store:
        one = (lambda: store_increment(store)) if kind == "store" else bare_increment
        await store.set(f"ready-{os.getpid()}", b"1", 600)
        while await store.get("go") is None:
            await asyncio.sleep(0.001)
        async def task():
            for _ in range(increments):
                await one()
        await asyncio.gather(*(task() for _ in range(tasks)))
        end = time.time()
    await bare.close()
    print(json.dumps({"increments": tasks * increments, "conflicts": conflicts, "end": end}))

asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])))
"""


async def timed(call: Call, n: int) -> float:
    """Seconds taken by ``n`` back-to-back awaits of ``call`` (garbage collected before, not during)."""
    gc.collect()
    start = time.perf_counter()
    for _ in range(n):
        await call()
    return time.perf_counter() - start


async def compare(store_call: Call, bare_call: Call, block: float, pairs: int) -> tuple[float, float, float]:
    """Best ops/s of each side and the median per-pair time ratio store/bare over ``pairs`` adjacent blocks."""
    n = 5
    while await timed(bare_call, n) < block / 2:  # calibrate: about ``block`` seconds per side
        n *= 2
    store_times, bare_times = [], []
    for i in range(pairs):
        first, second = (store_call, bare_call) if i % 2 == 0 else (bare_call, store_call)
        a, b = await timed(first, n), await timed(second, n)
        store_times.append(a if i % 2 == 0 else b)
        bare_times.append(b if i % 2 == 0 else a)
    ratios = [st / bt for st, bt in zip(store_times, bare_times, strict=True)]
    return n / min(store_times), n / min(bare_times), statistics.median(ratios)


def batch_cases(store: MemcachedStore, bare: aiomcache.Client) -> list[tuple[str, Call, Call]]:
    """(name, store call, bare call): the same items written, read or refreshed."""
    keys = [f"s/call-1/session-{i}" for i in range(BATCH)]
    raw = [store._space.data(key) for key in keys]  # the very server keys the store uses
    items = [(key, VALUE, TTL) for key in keys]
    exptime = store._exptime(TTL)

    async def bare_mset() -> None:
        await asyncio.gather(*(bare.set(key, VALUE, exptime) for key in raw))

    async def bare_touch() -> None:
        await asyncio.gather(*(bare.touch(key, exptime) for key in raw))

    return [
        (f"mget({BATCH})", lambda: store.mget(keys), lambda: bare.multi_get(*raw)),
        (f"mset({BATCH})", lambda: store.mset(items), bare_mset),
        (f"expire({BATCH})", lambda: store.expire(*keys, ttl=TTL), bare_touch),
    ]


async def fill(store: MemcachedStore, keys: list[str]) -> None:
    for start in range(0, len(keys), 2000):
        await store.mset([(key, b"u", 3600.0) for key in keys[start : start + 2000]])


async def run(url: str, block: float, pairs: int) -> None:
    """The batch operations and the listings (see the module docstring)."""
    parsed = StoreURL.parse(url)
    host = parsed.host
    assert host is not None
    bare = aiomcache.Client(host.host, host.port or 11211, pool_size=POOL)
    async with (
        MemcachedStore(url, namespace="bench:", pool_size=POOL) as store,
        MemcachedStore(url, namespace="big:", pool_size=POOL) as big,
        MemcachedStore(url, namespace="small:", pool_size=POOL) as small,
    ):
        print(f"memcached {host}; {pairs} alternating pairs of ~{block} s blocks; value {len(VALUE)} B, pool {POOL}")
        print("ops/s: best block; store/bare: median of per-pair time ratios (< 1: the store is faster)\n")
        print(f"{'operation':<44}{'store ops/s':>13}{'base ops/s':>13}{'store/base':>12}")
        for name, store_call, bare_call in batch_cases(store, bare):
            await store_call()
            await bare_call()
            s, b, ratio = await compare(store_call, bare_call, block, pairs)
            print(f"{name:<44}{s:>13,.0f}{b:>13,.0f}{ratio:>12.2f}")

        matches = [(f"s/call-x/session-{i}", b"m", 3600.0) for i in range(BATCH)]
        unrelated = [f"s/other-{i % 10_000}/session-{i}" for i in range(UNRELATED // 2)]
        unrelated += [f"flat-{i}" for i in range(UNRELATED - len(unrelated))]
        await fill(big, unrelated)
        await big.mset(matches)
        await small.mset(matches)
        assert len(await big.keys("s/call-x/")) == len(await small.keys("s/call-x/")) == BATCH
        s, b, ratio = await compare(lambda: big.keys("s/call-x/"), lambda: small.keys("s/call-x/"), block, pairs)
        label = f"keys(dir): {BATCH} among {UNRELATED:,} vs alone"
        print(f"{label:<44}{s:>13,.0f}{b:>13,.0f}{ratio:>12.2f}")
        s, b, ratio = await compare(lambda: big.keys("s/call-x/"), lambda: big.keys("s/empty/"), block, pairs)
        label = f"keys(dir): {BATCH} matches vs an empty dir"
        print(f"{label:<44}{s:>13,.0f}{b:>13,.0f}{ratio:>12.2f}")
    await bare.close()
    print("\nGoals: mget/mset/expire store/base <= 1.15; keys(dir) among 100,000 vs alone <= 3.")


async def counter_round(url: str, kind: str, increments: int) -> tuple[float, int, int]:
    """One contended-counter round of ``kind`` ("store"/"bare"): (seconds from "go", increments, conflicts)."""
    namespace = f"counter-{uuid.uuid4().hex[:8]}:"
    argv = [url, namespace, kind, str(COUNTER_TASKS), str(increments)]
    pipe = asyncio.subprocess.PIPE
    workers = [
        await asyncio.create_subprocess_exec(sys.executable, "-c", COUNTER_WORKER, *argv, stdout=pipe, stderr=pipe)
        for _ in range(COUNTER_PROCESSES)
    ]
    try:
        async with MemcachedStore(url, namespace=namespace) as store:
            while len(await store.keys("ready-")) < COUNTER_PROCESSES:
                if any(worker.returncode is not None for worker in workers):
                    raise RuntimeError("a counting process exited before starting")
                await asyncio.sleep(0.01)
            started = time.time()
            await store.set("go", b"1", 600)
            reports = []
            for worker in workers:
                out, err = await worker.communicate()
                if worker.returncode != 0:
                    raise RuntimeError(f"a counting process failed: {err.decode()[-500:]}")
                reports.append(json.loads(out))
            total = sum(report["increments"] for report in reports)
            if kind == "store":
                final = await store.get("counter")
            else:
                host = StoreURL.parse(url).host
                assert host is not None
                bare = aiomcache.Client(host.host, host.port or 11211, pool_size=1)
                raw_key = (namespace + "bare-counter").encode()
                final = await bare.get(raw_key)
                await bare.delete(raw_key)
                await bare.close()
            if final != str(total).encode():
                raise RuntimeError(f"{kind} counter lost increments: {final!r} after {total}")
            await store.delete(await store.keys(""))
    finally:
        for worker in workers:
            if worker.returncode is None:
                worker.kill()
                await worker.wait()
    seconds = max(report["end"] for report in reports) - started
    return seconds, total, sum(report["conflicts"] for report in reports)


async def counter(url: str, rounds: int, increments: int) -> None:
    """The contended counter, store vs bare aiomcache, in alternating rounds: best increments/s, median ratio."""
    results: dict[str, list[tuple[float, int, int]]] = {"store": [], "bare": []}
    for i in range(rounds):
        for kind in ("store", "bare") if i % 2 == 0 else ("bare", "store"):
            results[kind].append(await counter_round(url, kind, increments))
    ratios = [s[0] / b[0] for s, b in zip(results["store"], results["bare"], strict=True)]
    rates = {kind: max(total / seconds for seconds, total, _ in runs) for kind, runs in results.items()}
    conflicts = {kind: sum(c for _, _, c in runs) / sum(t for _, t, _ in runs) for kind, runs in results.items()}
    label = f"counter: {COUNTER_PROCESSES} proc x {COUNTER_TASKS} tasks"
    print(f"\n{'contended counter':<44}{'store inc/s':>13}{'base inc/s':>13}{'store/base':>12}")
    print(f"{label:<44}{rates['store']:>13,.0f}{rates['bare']:>13,.0f}{statistics.median(ratios):>12.2f}")
    print(f"{'  conflicts per increment':<44}{conflicts['store']:>13.2f}{conflicts['bare']:>13.2f}")
    per_round = COUNTER_PROCESSES * COUNTER_TASKS * increments
    print(f"  ({rounds} rounds of {per_round} increments each side; base: aiomcache gets/cas, add when absent;")
    print("   store/base: median of per-round time ratios)")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--block", type=float, default=0.05, help="seconds per timed block")
    parser.add_argument("--pairs", type=int, default=21, help="alternating store/base block pairs")
    parser.add_argument("--counter-only", action="store_true", help="run only the contended counter")
    parser.add_argument("--rounds", type=int, default=5, help="contended-counter rounds per side")
    parser.add_argument("--increments", type=int, default=50, help="increments per counting task and round")
    args = parser.parse_args()
    url = os.environ.get("SESSIONKV_MEMCACHED_URL")
    server = None if url else start_memcached(memory_mb=256)
    url = url or f"memcached://127.0.0.1:{server.port}"  # type: ignore[union-attr]
    try:
        if not args.counter_only:
            asyncio.run(run(url, args.block, args.pairs))
        asyncio.run(counter(url, args.rounds, args.increments))
    finally:
        if server is not None:
            server.cleanup()


if __name__ == "__main__":
    main()
