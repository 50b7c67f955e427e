"""Model-based: random operation sequences replayed on the store and on a dict, every answer compared.

Hypothesis generates and shrinks the sequences in a worker thread; each example is replayed on
the test's own loop (``run_coroutine_threadsafe``), so the store never leaves its loop. TTLs are
long: this checks the data model, the TTL areas check time.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

from sessionkv import SessionKVStore

from .runner import adapted, area

KEYS = ["a", "a/b", "ab", "é/x", "k*", "%😀"]  # few keys, so operations collide often
PREFIXES = ["", "a", "a/", "ab", "k", "k*", "é", "%", "z"]
VALUES = [b"", b"0", b"1", b"\x00\xff", b"long" * 8]
OP_NAMES = ["set", "set_if", "mset", "get", "mget", "delete", "keys", "items", "expire", "touch"]
MAX_EXAMPLES = 40
MAX_OPS = 30
TTL = 3600.0

Op = tuple[Any, ...]


async def replay(store: SessionKVStore, ops: list[Op]) -> None:
    """Run ``ops`` on an emptied namespace and on a dict; every result must agree."""
    await store.delete(await store.keys(""))
    model: dict[str, bytes] = {}
    for step, op in enumerate(ops):
        name, *args = op
        where = f"step {step} {op!r}"
        if name == "set":
            await store.set(args[0], args[1], TTL)
            model[args[0]] = args[1]
        elif name == "set_if":
            await store.set(args[0], args[1], TTL, only_if_exists=True)
            if args[0] in model:
                model[args[0]] = args[1]
        elif name == "mset":
            await store.mset([(key, value, TTL) for key, value in args[0]])
            model.update(dict(args[0]))
        elif name == "get":
            assert await store.get(args[0]) == model.get(args[0]), where
        elif name == "mget":
            assert await store.mget(args[0]) == [model.get(key) for key in args[0]], where
        elif name == "delete":
            await store.delete(args[0])
            for key in args[0]:
                model.pop(key, None)
        elif name == "keys":
            expected = sorted(key for key in model if key.startswith(args[0]))
            assert sorted(await store.keys(args[0])) == expected, where
        elif name == "items":
            expected_items = sorted((key, value) for key, value in model.items() if key.startswith(args[0]))
            assert sorted(await store.items(args[0])) == expected_items, where
        elif name == "expire":
            await store.expire(*args[0], ttl=TTL)
        elif name == "touch":
            missing = await store.touch(args[0], TTL)
            assert sorted(missing) == sorted({key for key in args[0] if key not in model}), where
    assert sorted(await store.keys("")) == sorted(model), "final keys('')"


def random_ops(rng: random.Random) -> list[Op]:
    """A random operation sequence (used when hypothesis is not installed)."""

    def keys() -> list[str]:
        return [rng.choice(KEYS) for _ in range(rng.randrange(0, 5))]

    ops: list[Op] = []
    for _ in range(rng.randrange(0, MAX_OPS)):
        name = rng.choice(OP_NAMES)
        if name in ("set", "set_if"):
            ops.append((name, rng.choice(KEYS), rng.choice(VALUES)))
        elif name == "mset":
            ops.append((name, [(rng.choice(KEYS), rng.choice(VALUES)) for _ in range(rng.randrange(0, 5))]))
        elif name == "get":
            ops.append((name, rng.choice(KEYS)))
        elif name in ("keys", "items"):
            ops.append((name, rng.choice(PREFIXES)))
        else:
            ops.append((name, keys()))
    return ops


def _hypothesis_check(loop: asyncio.AbstractEventLoop, store: SessionKVStore) -> None:
    """Run the hypothesis search (in a worker thread); each example replays on ``loop``."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    key = st.sampled_from(KEYS)
    value = st.sampled_from(VALUES) | st.binary(max_size=16)
    keys = st.lists(key, max_size=5)
    op = st.one_of(
        st.tuples(st.just("set"), key, value),
        st.tuples(st.just("set_if"), key, value),
        st.tuples(st.just("mset"), st.lists(st.tuples(key, value), max_size=5)),
        st.tuples(st.just("get"), key),
        st.tuples(st.just("mget"), keys),
        st.tuples(st.just("delete"), keys),
        st.tuples(st.just("keys"), st.sampled_from(PREFIXES)),
        st.tuples(st.just("items"), st.sampled_from(PREFIXES)),
        st.tuples(st.just("expire"), keys),
        st.tuples(st.just("touch"), keys),
    )

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,  # the same examples on every run: certification is reproducible
        suppress_health_check=list(HealthCheck),
    )
    @given(st.lists(op, min_size=1, max_size=MAX_OPS))
    def check(ops: list[Op]) -> None:
        asyncio.run_coroutine_threadsafe(replay(store, ops), loop).result()

    check()


@area("model")
class ModelTests:
    """Random sequences of every operation compared against a reference dict."""

    async def test_model_based_random_operations(self, store: SessionKVStore) -> None:
        loop = asyncio.get_running_loop()
        try:
            import hypothesis  # noqa: F401
        except ImportError:
            adapted("hypothesis is not installed: replayed 40 seeded random sequences (no shrinking)")
            for seed in range(MAX_EXAMPLES):
                await replay(store, random_ops(random.Random(seed)))
            return
        await asyncio.to_thread(_hypothesis_check, loop, store)
