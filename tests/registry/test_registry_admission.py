"""Fleet admission: ``max_per_call`` slots no two registries can both take, ``max_sessions``, ``least_loaded``.

In-process only for now: many registries, each on its own store object, race on every backend.
"""

from __future__ import annotations

import asyncio

import pytest
from registry_support import OpenStore

from sessionkv import CallFullError, NodeFullError, SessionRegistry

pytestmark = pytest.mark.asyncio


async def test_racing_registries_admit_exactly_the_limit(open_shared: OpenStore) -> None:
    registries = [SessionRegistry(await open_shared(), node_id=f"n{i}", ttl=5) for i in range(8)]
    for round_ in range(2):
        call = f"call-{round_}"
        results = await asyncio.gather(
            *(r.register(call, f"{r.node_id}-{j}", max_per_call=3) for r in registries for j in range(2)),
            return_exceptions=True,
        )
        won = [res for res in results if not isinstance(res, BaseException)]
        refused = [res for res in results if isinstance(res, CallFullError)]
        assert len(won) == 3 and len(refused) == len(results) - 3, results
        assert len(await registries[0].get_for_call(call)) == 3
        assert str(refused[0]) == f"call {call!r} is full: it has 3 live sessions, the limit (max_per_call=3)"
    # A removed session frees its slot at once.
    winner = won[0]
    owner = next(r for r in registries if r.node_id == winner.node_id)
    await owner.remove(winner.call_id, winner.session_id)
    await registries[0].register("call-1", "late", max_per_call=3)
    with pytest.raises(CallFullError):
        await registries[1].register("call-1", "later", max_per_call=3)
    for r in registries:
        await r.stop()


async def test_node_capacity_and_least_loaded(open_shared: OpenStore) -> None:
    small = SessionRegistry(await open_shared(), node_id="small", ttl=5, max_sessions=2)
    big = SessionRegistry(await open_shared(), node_id="big", ttl=5, max_sessions=10)
    await small.register("c", "s1")
    await small.register("c", "s2")
    with pytest.raises(NodeFullError, match="node 'small' is full"):
        await small.register("c", "s3")
    await big.register("c", "b1")
    nodes = {node.node_id: node for node in await big.nodes()}
    assert (nodes["small"].capacity, nodes["small"].sessions, nodes["big"].capacity) == (2, 2, 10)
    assert [node.node_id for node in await small.least_loaded(k=5)] == ["big"]  # small is full
    await small.stop()
    await big.stop()
