"""Registry heartbeat and lookup benchmark (a script, not a test): batched heartbeat vs per-session get-then-set.

Run: ``python bench/registry_bench.py`` (starts a throwaway redis-server on a free loopback port), or
``--url redis://host:port/0`` / ``--url memory://`` for another store. For 1,000 and 10,000 sessions on
one node it times ``SessionRegistry.heartbeat()`` (one ``touch`` + one ``mset``) against the published
design's loop (per session: ``get`` the record, ``set`` it back with the ttl), prints the store round trips
of each, and times ``get_for_call`` while the store holds 100,000 sessions of other calls.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sessionkv import SessionInfo, SessionKVStore, SessionRegistry, open_store
from sessionkv.registry.keys import session_key

TTL = 60.0


@contextmanager
def counting(store: SessionKVStore) -> Iterator[Counter[str]]:
    """Count calls to ``store``'s batch and single-key methods (one call = one round trip on Redis).

    Instance attributes shadow the methods, so nothing is validated twice and timings stay honest.
    """
    calls: Counter[str] = Counter()
    names = ("set", "mset", "get", "mget", "expire", "touch", "keys", "delete")

    def wrap(name: str, method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def counted(*args: Any, **kwargs: Any) -> Any:
            calls[name] += 1
            return await method(*args, **kwargs)

        return counted

    for name in names:
        setattr(store, name, wrap(name, getattr(store, name)))
    try:
        yield calls
    finally:
        for name in names:
            delattr(store, name)


async def timed(action: Callable[[], Awaitable[Any]], repeat: int) -> float:
    """Median wall time of ``repeat`` runs, in seconds."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        await action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


async def published_heartbeat(store: SessionKVStore, keys: list[str]) -> None:
    """The published design's heartbeat: per session, read the record and write it back with the ttl."""
    for key in keys:
        raw = await store.get(key)
        if raw is not None:
            await store.set(key, raw, TTL)


async def bench_heartbeat(url: str, sessions: int, repeat: int) -> dict[str, Any]:
    store = open_store(url, namespace=f"bench-hb-{sessions}-{os.getpid()}:")
    await store.start()
    loops = max(1, repeat // 3)
    try:
        async with SessionRegistry(store, node_id="bench-node", ttl=TTL) as registry:
            for i in range(sessions):
                await registry.register(f"call-{i // 4}", f"session-{i}", metadata={"agent": "bench", "n": i})
            keys = [session_key(call, session) for call, session in registry.owned_sessions()]
            await registry.heartbeat()  # warm-up (first mset of the node record)
            # Interleaved, so a load spike on the machine hits both sides alike.
            batched_times: list[float] = []
            baseline_times: list[float] = []
            for round_ in range(loops):
                baseline_times.append(await timed(lambda: published_heartbeat(store, keys), 1))
                share = repeat // loops + (1 if round_ < repeat % loops else 0)
                batched_times += [await timed(registry.heartbeat, 1) for _ in range(share)]
            batched, baseline = statistics.median(batched_times), statistics.median(baseline_times)
            with counting(store) as calls:
                await registry.heartbeat()
                batched_trips = sum(calls.values())
                calls.clear()
                await published_heartbeat(store, keys)
                baseline_trips = sum(calls.values())
            await store.delete(await store.keys(""))
    finally:
        await store.close()
    return {
        "sessions": sessions,
        "heartbeat_ms": batched * 1000,
        "heartbeat_trips": batched_trips,
        "baseline_ms": baseline * 1000,
        "baseline_trips": baseline_trips,
        "speedup": baseline / batched,
    }


async def bench_get_for_call(url: str, others: int, repeat: int) -> dict[str, Any]:
    store = open_store(url, namespace=f"bench-gfc-{os.getpid()}:")
    await store.start()
    try:
        now = time.time()
        batch: list[tuple[str, bytes, float]] = []
        for i in range(others):
            call, session = f"other-call-{i // 10}", f"s{i}"
            batch.append((session_key(call, session), SessionInfo(session, call, "elsewhere", now).encode(), TTL))
            if len(batch) == 5000:
                await store.mset(batch)
                batch = []
        if batch:
            await store.mset(batch)
        async with SessionRegistry(store, node_id="bench-node", ttl=TTL) as registry:
            for i in range(10):
                await registry.register("the-call", f"mine-{i}")
            found = await registry.get_for_call("the-call")
            assert len(found) == 10, len(found)
            latency = await timed(lambda: registry.get_for_call("the-call"), repeat)
            with counting(store) as calls:
                await registry.get_for_call("the-call")
                trips = sum(calls.values())
            one = await timed(lambda: registry.get("the-call", "mine-3"), repeat)
            await store.delete(await store.keys(""))
    finally:
        await store.close()
    return {"others": others, "get_for_call_ms": latency * 1000, "trips": trips, "get_ms": one * 1000}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def throwaway_redis() -> Iterator[str]:
    """A redis-server on a free loopback port in a temp dir, stopped by its PID afterwards."""
    binary = shutil.which("redis-server") or shutil.which("redis-server", path="/usr/sbin:/usr/bin")
    if binary is None:
        sys.exit("redis-server not found: apt-get install redis-server, or pass --url")
    port, workdir = free_port(), tempfile.mkdtemp(prefix="sessionkv-bench-")
    argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", workdir]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                sys.exit("redis-server did not start")
            time.sleep(0.02)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


async def run(url: str, sizes: list[int], others: int, repeat: int) -> None:
    print(f"store: {url}   ttl {TTL:g} s   median of {repeat} heartbeats ({max(1, repeat // 3)} baseline loops)\n")
    header = f"{'sessions':>9}  {'heartbeat()':>12}  {'trips':>5}  {'get+set loop':>13}  {'trips':>7}  {'speedup':>8}"
    print(header)
    print("-" * len(header))
    for sessions in sizes:
        r = await bench_heartbeat(url, sessions, repeat)
        print(
            f"{r['sessions']:>9,}  {r['heartbeat_ms']:>9.1f} ms  {r['heartbeat_trips']:>5.0f}  "
            f"{r['baseline_ms']:>10.1f} ms  {r['baseline_trips']:>7,.0f}  {r['speedup']:>7.1f}x"
        )
    g = await bench_get_for_call(url, others, repeat)
    print(
        f"\nget_for_call (10 sessions) with {g['others']:,} sessions of other calls in the store: "
        f"{g['get_for_call_ms']:.2f} ms in {g['trips']:.0f} store calls (keys + mget); get(): {g['get_ms']:.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--url", help="store URL (default: a throwaway local redis-server)")
    parser.add_argument("--sizes", default="1000,10000", help="session counts (default: 1000,10000)")
    parser.add_argument("--others", type=int, default=100_000, help="other sessions for get_for_call (100000)")
    parser.add_argument("--repeat", type=int, default=9, help="heartbeats timed per size (default: 9)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.url:
        asyncio.run(run(args.url, sizes, args.others, args.repeat))
    else:
        with throwaway_redis() as url:
            asyncio.run(run(url, sizes, args.others, args.repeat))


if __name__ == "__main__":
    main()
