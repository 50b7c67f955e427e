"""Several stores writing one directory at once: every write succeeds, the index stays small, the listing exact.

Each write appends its names to the directory index items (its leaf, and its directory's entry in the parent), and
compaction removes the repeats by compare-and-swap. With two or more writers of one directory, another writer's
append landed between a compaction's read and its rewrite nearly every time (a lone writer never races), so
nobody could compact the shared items: they grew by one entry per write until memcached refused every append.
memcached answers ``NS`` to an append that would pass its item size limit, as to an append of a missing item, so
each write flipped between add (the item exists) and append (too large) and failed with "directory index items
kept vanishing after 8 attempts". Found by ``python -m bench --only fleet`` (four processes registering into the
shared ``n/``); two stores in one process do it too. The servers here have a small item size limit, so a few
thousand writes fill an item.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import Callable

import pytest

from servers.memcached_process import memcached_url
from servers.process import ServerProcess
from sessionkv import StoreError
from sessionkv_memcached.keyspace import INDEX_SHARDS, shard_of
from sessionkv_memcached.protocol import Meta, Pipeline
from sessionkv_memcached.store import MemcachedStore

pytestmark = pytest.mark.asyncio
StartMemcached = Callable[..., ServerProcess]
ITEM_LIMIT = 128 * 1024
SMALL_ITEMS = ("-I", "128k", "-o", "slab_chunk_max=65536")


async def shard_sizes(store: MemcachedStore, directory: str) -> list[int]:
    """The size of each index item of ``directory`` on the server (0: missing)."""

    async def work(conn: object) -> list[object]:
        pipe = Pipeline()
        for shard in range(INDEX_SHARDS):
            pipe.meta_get(store._space.shard(directory, shard), b"s")
        return await pipe.run(conn)  # type: ignore[arg-type]

    replies = await store._run("sizes", work)  # type: ignore[arg-type]
    return [reply.int_flag(b"s") or 0 if isinstance(reply, Meta) and reply.hit else 0 for reply in replies]


async def test_concurrent_writers_of_one_directory_never_fail(memcached_process: StartMemcached) -> None:
    server = memcached_process(*SMALL_ITEMS)
    url = memcached_url(server, namespace=f"cont-{uuid.uuid4().hex[:8]}:")
    directory = "d" * 200  # each write appends ~200 bytes to the root's item: 2,400 writes fill it 3.5 times
    stores = [MemcachedStore(url) for _ in range(4)]
    for store in stores:
        await store.start()
    try:

        async def writer(n: int, store: MemcachedStore) -> set[str]:
            keys = [f"{directory}/w{n}-{i}" for i in range(4)]  # rewritten over and over, like a node record
            for i in range(600):
                await store.set(keys[i % len(keys)], b"v", 60)
            return set(keys)

        written = await asyncio.gather(*(writer(n, store) for n, store in enumerate(stores)))
        expected = set().union(*written)
        assert set(await stores[0].keys(directory + "/")) == expected
        assert set(await stores[1].keys("")) == expected
        assert max(await shard_sizes(stores[0], "")) < ITEM_LIMIT // 2
    finally:
        for store in stores:
            await store.close()


async def test_concurrent_registries_in_processes_never_fail(memcached_process: StartMemcached) -> None:
    """The fleet's shape: writer processes, each rewriting its node records in the shared directory."""
    server = memcached_process(*SMALL_ITEMS)
    url = memcached_url(server, namespace=f"proc-{uuid.uuid4().hex[:8]}:")
    script = (
        "import asyncio, sys\n"
        "from sessionkv_memcached.store import MemcachedStore\n"
        "async def main(url, n):\n"
        "    async with MemcachedStore(url) as store:\n"
        "        for i in range(1500):\n"
        "            await store.set(f'{\"n\" * 200}/p{n}-{i % 3}', b'v', 60)\n"
        "asyncio.run(main(sys.argv[1], sys.argv[2]))\n"
    )
    procs = [
        await asyncio.create_subprocess_exec(sys.executable, "-c", script, url, str(n), stderr=asyncio.subprocess.PIPE)
        for n in range(3)
    ]
    errors = [(await proc.communicate())[1].decode() for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0, 0], errors
    async with MemcachedStore(url) as store:
        expected = {f"{'n' * 200}/p{n}-{i}" for n in range(3) for i in range(3)}
        assert set(await store.keys("")) == expected
        assert max(await shard_sizes(store, "")) < ITEM_LIMIT


async def test_a_directory_whose_live_names_overflow_an_item_fails_loudly(memcached_process: StartMemcached) -> None:
    server = memcached_process(*SMALL_ITEMS)
    async with MemcachedStore(memcached_url(server, namespace=f"full-{uuid.uuid4().hex[:8]}:")) as store:
        names = (f"{n:04d}" + "x" * 196 for n in range(100_000))
        same_shard = [name for name in names if shard_of(name) == 0][:800]  # 800 x 205 bytes: past 128 KB
        with pytest.raises(StoreError, match="is full: its live names exceed"):
            for name in same_shard:
                await store.set(f"big/{name}", b"v", 60)
        assert max(await shard_sizes(store, "big/")) < ITEM_LIMIT
