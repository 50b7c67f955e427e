"""EtcdStore batches against the bare etcd3-py client doing the naive one-key-per-request equivalent, one run.

Starts its own etcd on a free loopback port (tests/servers helpers), or uses ``SESSIONKV_ETCD_URL``.
For mset(500), mget(500) and expire(500) it prints the round trips each side sends, the median
seconds per call and bare/store (how many times faster the store is).

    python bench/etcd_bench.py [--batch 500] [--repeat 5]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import sys
import time
import warnings
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from etcd3 import AioClient  # noqa: E402

from servers.etcd_process import start_etcd  # noqa: E402
from sessionkv_etcd.gateway import Gateway  # noqa: E402
from sessionkv_etcd.store import EtcdStore  # noqa: E402

NAMESPACE = "bench:"
VALUE = b"x" * 100
TTL = 60
Call = Callable[[], Awaitable[object]]


class RoundTrips:
    """Counts the store's requests (a spy on ``Gateway.call``) and the bare client's (counted by hand)."""

    def __init__(self) -> None:
        self.store = 0
        original = Gateway.call

        async def counting(gateway: Gateway, path: str, body: dict[str, Any], **options: Any) -> dict[str, Any]:
            self.store += 1
            return await original(gateway, path, body, **options)

        Gateway.call = counting  # type: ignore[method-assign]


async def timed(call: Call, repeat: int) -> float:
    """Median seconds of ``repeat`` awaits of ``call``."""
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        await call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def naive_cases(bare: AioClient, batch: int) -> dict[str, tuple[Call, int]]:
    """The bare client's one-key-per-request versions, and the round trips each sends."""
    full = [(NAMESPACE + f"k{i}").encode() for i in range(batch)]

    async def mset() -> None:
        lease = (await bare.lease_grant(TTL)).ID
        for key in full:
            await bare.put(key, VALUE, lease=lease)

    async def mget() -> None:
        for key in full:
            await bare.range(key)

    async def expire() -> None:
        lease = (await bare.lease_grant(TTL)).ID
        for key in full:
            exists = {"key": key, "target": "CREATE", "result": "GREATER", "create_revision": 0}
            await bare.txn([exists], [bare.put(key, None, ignore_value=True, lease=lease, txn_obj=True)], [])

    return {"mset": (mset, batch + 1), "mget": (mget, batch), "expire": (expire, batch + 1)}


async def run(url: str, batch: int, repeat: int) -> None:
    host, port = url.split("://", 1)[1].split(",")[0].rsplit(":", 1)
    trips = RoundTrips()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # etcd3-py warns about its own version probe
        bare = AioClient(host=host, port=int(port))
    keys = [f"k{i}" for i in range(batch)]
    items = [(key, VALUE, float(TTL)) for key in keys]
    async with EtcdStore(url, namespace=NAMESPACE) as store:
        store_cases: dict[str, Call] = {
            "mset": lambda: store.mset(items),
            "mget": lambda: store.mget(keys),
            "expire": lambda: store.expire(*keys, ttl=TTL),
        }
        print(f"etcd {host}:{port}; batch {batch}; value {len(VALUE)} B; median of {repeat} calls each")
        print("bare = etcd3-py AioClient, one key per request; store = EtcdStore (txns of <= 128 ops)\n")
        print(f"{'operation':<16}{'store trips':>12}{'bare trips':>12}{'store s':>10}{'bare s':>10}{'bare/store':>12}")
        try:
            for name, (bare_call, bare_trips) in naive_cases(bare, batch).items():
                store_call = store_cases[name]
                await store_call()
                before = trips.store
                await store_call()
                store_trips = trips.store - before
                store_s, bare_s = await timed(store_call, repeat), await timed(bare_call, repeat)
                label = f"{name}({batch})"
                row = f"{label:<16}{store_trips:>12}{bare_trips:>12}{store_s:>10.4f}{bare_s:>10.4f}"
                print(f"{row}{bare_s / store_s:>12.1f}")
        finally:
            await store.delete(keys)
            await bare.close()
    print("\ntrips = HTTP requests per call; the store's mset/expire include one lease grant (reused when recent).")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=500, help="keys per batch call")
    parser.add_argument("--repeat", type=int, default=5, help="timed calls per side and operation")
    args = parser.parse_args()
    url = os.environ.get("SESSIONKV_ETCD_URL")
    server = None if url else start_etcd()
    try:
        asyncio.run(run(url or f"etcd://127.0.0.1:{server.port}", args.batch, args.repeat))  # type: ignore[union-attr]
    finally:
        if server is not None:
            server.cleanup()


if __name__ == "__main__":
    main()
