"""A cas rewrite of a directory index item never undoes a concurrent re-timing of it.

A write (or ``expire``/``touch``) whose key outlives an index item re-times the item (``mg <item> T<ttl>``), and
memcached's touch leaves the item's cas as it was. A compaction (or a listing's prune) reads an item's value, cas
and remaining ttl, checks its entries, then rewrites it by cas keeping the ttl it read. Re-timed in between, the
item still had the cas the rewrite compared, so the rewrite won and put the old, shorter ttl back: the item expired
before the key it names, and ``keys()`` missed a live key. Each test holds one store's rewrite until another store
has extended the key (``expire``), then waits past the old ttl and lists.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

import pytest

from servers.memcached_process import memcached_url
from servers.process import ServerProcess
from sessionkv_memcached.keyspace import shard_of
from sessionkv_memcached.protocol import Meta, Pipeline
from sessionkv_memcached.store import MemcachedStore

pytestmark = pytest.mark.asyncio
StartMemcached = Callable[..., ServerProcess]


@contextmanager
def held_rewrite(monkeypatch: pytest.MonkeyPatch, item: bytes) -> Iterator[tuple[asyncio.Event, asyncio.Event]]:
    """Hold the first pipeline that rewrites ``item`` by cas (``ms <item> ... C<cas>``) until ``release`` is set;
    ``held`` is set once it waits (its read and checks are done by then)."""
    held, release = asyncio.Event(), asyncio.Event()
    run = Pipeline.run

    async def gated(self: Pipeline, conn: object) -> list[object]:
        heads = [command.split(b"\r\n", 1)[0].split() for command in self._buffer]
        rewrites = any(head[:2] == [b"ms", item] and any(f.startswith(b"C") for f in head[3:]) for head in heads)
        if rewrites and not held.is_set():
            held.set()
            await release.wait()
        return await run(self, conn)  # type: ignore[arg-type]

    with monkeypatch.context() as patch:
        patch.setattr(Pipeline, "run", gated)
        yield held, release


async def remaining_ttl(store: MemcachedStore, item: bytes) -> int | None:
    """The remaining ttl of ``item`` on the server (None: missing)."""

    async def work(conn: object) -> list[object]:
        pipe = Pipeline()
        pipe.meta_get(item, b"t")
        return await pipe.run(conn)  # type: ignore[arg-type]

    (reply,) = await store._run("ttl", work)  # type: ignore[arg-type]
    return reply.int_flag(b"t") if isinstance(reply, Meta) and reply.hit else None


async def race(
    monkeypatch: pytest.MonkeyPatch,
    start: StartMemcached,
    rewrite: Callable[[MemcachedStore, bytes], Awaitable[object]],
) -> None:
    """``d/k`` (ttl 1 s) filed twice, so its index item holds a repeat to remove; ``rewrite`` reads the item and
    is held before its rewrite while another store extends ``d/k`` to 8 s; then ``d/k`` must stay listed."""
    server = start()
    url = memcached_url(server, namespace=f"retime-{uuid.uuid4().hex[:8]}:")
    async with MemcachedStore(url) as first, MemcachedStore(url) as second:
        item = first._space.shard("d/", shard_of("k"))
        await first.set("d/k", b"v", 1)
        await first.set("d/k", b"v", 1)  # a repeat: the compaction and the prune both rewrite the item
        old_ttl = await remaining_ttl(first, item)
        assert old_ttl is not None and old_ttl <= 4
        with held_rewrite(monkeypatch, item) as (held, release):
            task = asyncio.create_task(rewrite(first, item))
            await asyncio.wait_for(held.wait(), 5)
            await second.expire("d/k", ttl=8)  # re-times the index items: they must now outlive 8 s
            release.set()
            await task
        ttl = await remaining_ttl(first, item)
        assert ttl is not None and ttl >= 8, f"the rewrite shortened the re-timed index item to {ttl} s"
        await asyncio.sleep(old_ttl + 1.5)  # past the ttl the item had when it was read; d/k lives on
        assert await second.get("d/k") == b"v"
        assert await second.keys("d/") == ["d/k"]
        assert await second.keys("") == ["d/k"]


async def test_a_compaction_never_undoes_a_concurrent_re_timing(
    monkeypatch: pytest.MonkeyPatch, memcached_process: StartMemcached
) -> None:
    async def compact(store: MemcachedStore, item: bytes) -> object:
        return await store._run("compact", lambda conn: store._index._compact(conn, {item: "d/"}))

    await race(monkeypatch, memcached_process, compact)


async def test_a_listing_prune_never_undoes_a_concurrent_re_timing(
    monkeypatch: pytest.MonkeyPatch, memcached_process: StartMemcached
) -> None:
    async def listing(store: MemcachedStore, item: bytes) -> object:
        return await store.keys("d/")

    await race(monkeypatch, memcached_process, listing)
