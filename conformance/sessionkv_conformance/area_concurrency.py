"""Concurrency: many tasks interleaving operations on one store keep per-key results consistent."""

from __future__ import annotations

import asyncio
import random

from sessionkv import SessionKVStore

from .helpers import twin
from .runner import adapted, area
from .targets import StoreFactory

TASKS = 40
STEPS = 40
#: keys of the batch and rounds of writes in the atomic_mset check
ATOMIC_KEYS, ATOMIC_ROUNDS = 16, 40


@area("concurrency")
class ConcurrencyTests:
    """Interleaved set/get/delete/mset/mget from concurrent tasks."""

    async def test_concurrent_interleaved_ops_keep_per_key_results(self, store: SessionKVStore) -> None:
        async def worker(n: int) -> None:
            rng = random.Random(n)
            keys = [f"w{n}/{i}" for i in range(4)]
            model: dict[str, bytes] = {}
            for step in range(STEPS):
                key = rng.choice(keys)
                op = rng.random()
                if op < 0.35:
                    value = f"{n}:{step}".encode()
                    await store.set(key, value, 3600)
                    model[key] = value
                elif op < 0.5:
                    value = f"{n}:{step}:c".encode()
                    await store.set(key, value, 3600, only_if_exists=True)
                    if key in model:
                        model[key] = value
                elif op < 0.65:
                    await store.delete([key])
                    model.pop(key, None)
                elif op < 0.8:
                    assert await store.get(key) == model.get(key), f"task {n} step {step}: get({key!r})"
                else:
                    assert await store.mget(keys) == [model.get(k) for k in keys], f"task {n} step {step}: mget"
            assert sorted(await store.keys(f"w{n}/")) == sorted(model), f"task {n}: keys()"

        await asyncio.gather(*(worker(n) for n in range(TASKS)))

    async def test_concurrent_batches_on_disjoint_keys(self, store: SessionKVStore) -> None:
        async def batch(n: int) -> None:
            keys = [f"b{n}/{i}" for i in range(50)]
            await store.mset([(key, key.encode(), 3600) for key in keys])
            assert await store.mget(keys) == [key.encode() for key in keys]
            await store.delete(keys[::2])
            assert sorted(await store.keys(f"b{n}/")) == sorted(keys[1::2])

        await asyncio.gather(*(batch(n) for n in range(20)))
        assert len(await store.keys("")) == 20 * 25

    async def test_concurrent_writers_on_one_key_leave_one_of_their_values(self, store: SessionKVStore) -> None:
        values = [f"writer-{i}".encode() for i in range(50)]
        await asyncio.gather(*(store.set("hot", value, 3600) for value in values))
        assert await store.get("hot") in values
        await asyncio.gather(*(store.mset([("hot", value, 3600), ("warm", value, 3600)]) for value in values))
        hot, warm = await store.mget(["hot", "warm"])
        assert hot in values and warm in values

    async def test_atomic_mset_is_never_seen_half_applied(
        self, store: SessionKVStore, store_factory: StoreFactory
    ) -> None:
        if not store.capabilities.atomic_mset:
            adapted("atomic_mset not declared: a concurrent reader may see part of a batch; nothing to verify")
            return
        keys = [f"atomic/{i:02d}" for i in range(ATOMIC_KEYS)]
        await store.mset([(key, b"0", 3600) for key in keys])
        written = 0
        torn: list[list[bytes | None]] = []
        reads = 0

        async def writer() -> None:
            nonlocal written
            for round_ in range(1, ATOMIC_ROUNDS + 1):
                await store.mset([(key, str(round_).encode(), 3600) for key in keys])
                written = round_
                await asyncio.sleep(0)

        async def reader(other: SessionKVStore) -> None:
            nonlocal reads
            while written < ATOMIC_ROUNDS and not torn:
                got = await other.mget(keys)
                reads += 1
                if len(set(got)) != 1:
                    torn.append(got)
                await asyncio.sleep(0)

        async with twin(store_factory, store) as other:
            await asyncio.gather(writer(), reader(other), reader(store))
        if torn:
            rounds = sorted({value for value in torn[0] if value is not None}, key=lambda v: int(v))
            raise AssertionError(
                f"atomic_mset=True is declared, but a concurrent mget saw half a batch: {len(keys)} keys written "
                f"together held values of rounds {[r.decode() for r in rounds][:6]} (after {reads} reads)"
            )
        assert await store.mget(keys) == [str(ATOMIC_ROUNDS).encode()] * len(keys)
