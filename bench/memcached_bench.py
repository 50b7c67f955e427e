"""MemcachedStore against bare aiomcache doing the same work, and directory listing against cache size, one run.

Starts its own memcached on a free loopback port (tests/servers helpers), or uses
``SESSIONKV_MEMCACHED_URL``. Prints ops/s (calls per second, a batch counts once) and the ratios:

- ``mget(100)``, ``mset(100)``, ``expire(100)``: the store vs bare ``aiomcache.Client`` with the same
  pool size (``multi_get`` of the 100 keys; ``asyncio.gather`` of 100 ``set``/``touch`` calls, the
  concurrent way aiomcache offers). The store also maintains its directory index on ``mset``.
- ``keys(directory)`` with 100 matches in a namespace that also holds 100,000 unrelated keys (in
  10,000 other directories and the root) vs the same listing in a namespace holding only the 100.

    python bench/memcached_bench.py [--block 0.05] [--pairs 21]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import sys
import time
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
Call = Callable[[], Awaitable[object]]


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
        await store.mset([(key, b"u", 3600) for key in keys[start : start + 2000]])


async def run(url: str, block: float, pairs: int) -> None:
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

        matches = [(f"s/call-x/session-{i}", b"m", 3600) for i in range(BATCH)]
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


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--block", type=float, default=0.05, help="seconds per timed block")
    parser.add_argument("--pairs", type=int, default=21, help="alternating store/base block pairs")
    args = parser.parse_args()
    url = os.environ.get("SESSIONKV_MEMCACHED_URL")
    server = None if url else start_memcached(memory_mb=256)
    try:
        asyncio.run(run(url or f"memcached://127.0.0.1:{server.port}", args.block, args.pairs))  # type: ignore[union-attr]
    finally:
        if server is not None:
            server.cleanup()


if __name__ == "__main__":
    main()
