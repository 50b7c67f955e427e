"""RedisStore against bare redis.asyncio doing the same commands with the same pipelining, one run.

Starts its own redis-server on a free loopback port (tests/servers helpers), or uses
``SESSIONKV_REDIS_URL``. Prints ops/s (calls per second, a batch counts once) and store/bare.

    python bench/redis_bench.py [--block 0.05] [--pairs 41]
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

import redis.asyncio as aioredis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from servers.redis_process import start_redis  # noqa: E402
from sessionkv_redis.store import RedisStore  # noqa: E402

NAMESPACE = "bench:"
BATCH = 100
VALUE = b"x" * 100
TTL = 60.0
Call = Callable[[], Awaitable[object]]


async def timed(call: Call, n: int) -> float:
    """Seconds taken by ``n`` back-to-back awaits of ``call`` (garbage collected before, not during)."""
    gc.collect()
    start = time.perf_counter()
    for _ in range(n):
        await call()
    return time.perf_counter() - start


async def compare(store_call: Call, bare_call: Call, block: float, pairs: int) -> tuple[float, float, float]:
    """Best ops/s of each side and the median per-pair ratio store/bare over ``pairs`` adjacent blocks.

    Adjacent, alternating blocks see the same machine load, so the per-pair ratio cancels drift.
    """
    n = 10
    while await timed(bare_call, n) < block / 2:  # calibrate: about ``block`` seconds per side
        n *= 2
    store_times, bare_times = [], []
    for i in range(pairs):
        first, second = (store_call, bare_call) if i % 2 == 0 else (bare_call, store_call)
        a, b = await timed(first, n), await timed(second, n)
        store_times.append(a if i % 2 == 0 else b)
        bare_times.append(b if i % 2 == 0 else a)
    ratios = [bt / st for st, bt in zip(store_times, bare_times, strict=True)]
    return n / min(store_times), n / min(bare_times), statistics.median(ratios)


def cases(store: RedisStore, bare: aioredis.Redis) -> list[tuple[str, Call, Call]]:
    """(name, store call, bare call) pairs that send the same commands the same way."""
    keys = [f"k{i}" for i in range(BATCH)]
    full = [NAMESPACE + k for k in keys]
    items = [(k, VALUE, TTL) for k in keys]
    px = int(TTL * 1000)

    async def bare_mset(transaction: bool) -> None:
        async with bare.pipeline(transaction=transaction) as pipe:
            for key in full:
                pipe.set(key, VALUE, px=px)
            await pipe.execute()

    async def bare_pexpire() -> None:
        async with bare.pipeline(transaction=False) as pipe:
            for key in full:
                pipe.pexpire(key, px)
            await pipe.execute()

    return [
        ("set", lambda: store.set("k0", VALUE, TTL), lambda: bare.set(full[0], VALUE, px=px)),
        ("get", lambda: store.get("k0"), lambda: bare.get(full[0])),
        (f"mget({BATCH})", lambda: store.mget(keys), lambda: bare.mget(full)),
        (f"mset({BATCH}) MULTI/EXEC", lambda: store.mset(items), lambda: bare_mset(True)),
        (f"expire({BATCH} keys)", lambda: store.expire(*keys, ttl=TTL), bare_pexpire),
        (f"touch({BATCH} keys)", lambda: store.touch(keys, TTL), bare_pexpire),
        (f"bare mset({BATCH}) no MULTI", lambda: bare_mset(False), lambda: bare_mset(True)),
    ]


async def run(url: str, block: float, pairs: int) -> None:
    host_port = url.split("://", 1)[1].split("/", 1)[0]
    async with RedisStore(url, namespace=NAMESPACE) as store, aioredis.Redis.from_url(url) as bare:
        print(f"redis {host_port}; {pairs} alternating pairs of ~{block} s blocks; value {len(VALUE)} B")
        print("ops/s: best block; store/bare: median of per-pair ratios\n")
        print(f"{'operation':<28}{'store ops/s':>13}{'bare ops/s':>13}{'store/bare':>12}{'overhead':>10}")
        for name, store_call, bare_call in cases(store, bare):
            await store_call()
            await bare_call()
            s, b, ratio = await compare(store_call, bare_call, block, pairs)
            print(f"{name:<28}{s:>13,.0f}{b:>13,.0f}{ratio:>12.2f}{(1 / ratio - 1) * 100:>9.1f}%")
        print("\noverhead = extra time per call relative to bare (bare/store ratio inverted, minus 1).")
        print("Last row compares bare pipelines: transaction=False vs MULTI/EXEC (the cost of an atomic mset).")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--block", type=float, default=0.05, help="seconds per timed block")
    parser.add_argument("--pairs", type=int, default=41, help="alternating store/bare block pairs")
    args = parser.parse_args()
    url = os.environ.get("SESSIONKV_REDIS_URL")
    server = None if url else start_redis()
    try:
        asyncio.run(run(url or f"redis://127.0.0.1:{server.port}/0", args.block, args.pairs))  # type: ignore[union-attr]
    finally:
        if server is not None:
            server.cleanup()


if __name__ == "__main__":
    main()
