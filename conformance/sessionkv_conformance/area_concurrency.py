"""Concurrency: many tasks interleaving operations on one store keep per-key results consistent."""

from __future__ import annotations

import asyncio
import random

from sessionkv import SessionKVStore

from .runner import area

TASKS = 40
STEPS = 40


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
