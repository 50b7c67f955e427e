"""Fleet admission: ``max_per_call`` slots no two registries can both take, ``max_sessions``, ``least_loaded``.

Many registries, each on its own store object, race on every backend: in one process, and in two OS
processes (this one and ``admission_racer.py``) on every server backend. A crashed node's slots are
taken over within its ttl plus one interval, counted in rounds of that interval. Heartbeats with
admission on are counted: slots ride in the slice's ``touch``, once every ``SLOT_REFRESH_EVERY`` refreshes.
"""

from __future__ import annotations

import asyncio
import json
import math
import sys
from pathlib import Path

import pytest
from registry_support import SERVER_FIXTURES, InstrumentedStore, OpenStore, flush, short_ttl

from sessionkv import CallFullError, NodeFullError, SessionRegistry, open_store
from sessionkv.cancelling import cancel_and_wait
from sessionkv.registry.keys import node_key, slot_key
from sessionkv.registry.registry import ROLLING_SLICES, SLOT_REFRESH_EVERY

pytestmark = pytest.mark.asyncio

RACER = Path(__file__).with_name("admission_racer.py")
sys.path.insert(0, str(RACER.parent))
from admission_racer import beat, race  # noqa: E402


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


@pytest.mark.parametrize("sessions", [7, 300])
async def test_heartbeat_with_admission_writes_an_eighth_not_a_fifth(open_shared: OpenStore, sessions: int) -> None:
    """Every session holds a slot; over 4 full rolling cycles each record is touched 4 times, each slot once."""
    store = InstrumentedStore(await open_shared())
    # ttl 60: slots are also refreshed when older than part of their ttl, which a slow store (moto on a loaded CI)
    # reached with ttl 5 while registering 300 sessions, and the counts below assume regular beats
    async with SessionRegistry(store, node_id="n", ttl=60) as reg:
        for i in range(sessions):
            await reg.register(f"c{i % 3}", f"s{i}", max_per_call=sessions)
        store.written.clear()
        store.calls.clear()
        beats = SLOT_REFRESH_EVERY * ROLLING_SLICES
        reported = [(await reg.heartbeat()).keys_written for _ in range(beats)]
        # slots ride in the slice's touch (a beat with an empty slice reads the node record instead)
        assert store.calls["set"] == store.calls["touch"] + store.calls["get"] == beats
        assert set(store.calls) <= {"set", "touch", "get"}
        assert sum(store.written.values()) == sum(reported) == beats * (1 + sessions / ROLLING_SLICES) + sessions
        slots = {key: n for key, n in store.written.items() if key.startswith("a/")}
        records = {key: n for key, n in store.written.items() if key.startswith("s/")}
        assert (len(slots), set(slots.values())) == (sessions, {1})
        assert (len(records), set(records.values())) == (sessions, {SLOT_REFRESH_EVERY})
        # per heartbeat: 1 + N/10 without admission, 1 + N/10 + N/40 with it (not 1 + 2N/10)
        per_beat = sum(reported) / beats
        assert per_beat == 1 + sessions / ROLLING_SLICES + sessions / (ROLLING_SLICES * SLOT_REFRESH_EVERY)


async def test_a_flush_restores_the_slots_too(open_shared: OpenStore) -> None:
    store = await open_shared()
    async with (
        SessionRegistry(store, node_id="holder", ttl=5) as holder,
        SessionRegistry(await open_shared(), node_id="other", ttl=5) as other,
    ):
        for i in range(3):
            await holder.register("c", f"s{i}", max_per_call=3)
        await flush(store)
        result = await holder.heartbeat()  # the slice's record is missing: everything is checked
        assert result.restored == 3
        assert all([await store.get(slot_key("c", i)) is not None for i in range(3)])
        with pytest.raises(CallFullError):
            await other.register("c", "intruder", max_per_call=3)


async def _start_racer(url: str, call: str, ttl: float, interval: float) -> asyncio.subprocess.Process:
    """The child racer, once it reports ``ready`` (its registries started and heartbeating)."""
    argv = [str(RACER), url, "child-", "4", str(ttl), str(interval), call, "3"]
    pipe = asyncio.subprocess.PIPE
    child = await asyncio.create_subprocess_exec(sys.executable, *argv, stdin=pipe, stdout=pipe)
    assert child.stdout is not None
    line = await asyncio.wait_for(child.stdout.readline(), 60)
    assert line == b"ready\n", line
    return child


@pytest.mark.parametrize(  # memory:// lives in one process: the in-process race above covers it
    "shared_url", [name for name, fixture in SERVER_FIXTURES.items() if fixture is not None], indirect=True
)
async def test_two_processes_race_and_a_crash_frees_the_slots(shared_url: str) -> None:
    """8 registries (4 here, 4 in a child process), 2 registrations each: exactly 3 of 16 win, every time.

    Then every racer crashes (the child is killed, the local registries stop heartbeating, nobody stops):
    three new registrations fail at first (the winners' node records are still live), are all admitted
    within ttl + one interval (counted in intervals: each winner's node lapses ttl after its last
    heartbeat), and a fourth is refused again.
    """
    probe = open_store(shared_url)
    ttl = short_ttl(probe, 1.0)
    resolution = probe.capabilities.ttl_resolution
    interval = ttl / 4  # a slow heartbeat (DynamoDB on moto, a loaded CI) still comes well within the ttl
    for attempt in range(2):
        call, url = f"race-{attempt}", shared_url
        child = await _start_racer(url, call, ttl, interval)
        local = [SessionRegistry(open_store(url), node_id=f"parent-{i}", ttl=ttl) for i in range(4)]
        try:
            for registry in local:
                await registry.start()
            loops = [asyncio.create_task(beat(registry, interval)) for registry in local]
            assert child.stdin is not None
            child.stdin.write(b"go\n")  # the barrier: both sides register from here on
            await child.stdin.drain()
            mine = await race(local, call, 3)
            assert child.stdout is not None
            theirs = json.loads(await asyncio.wait_for(child.stdout.readline(), 60))
            won, full = mine["won"] + theirs["won"], mine["full"] + theirs["full"]
            assert (len(won), len(full)) == (3, 13), (mine, theirs)
            async with SessionRegistry(url, node_id="observer", ttl=ttl) as observer:
                assert sorted(info.session_id for info in await observer.get_for_call(call)) == sorted(won)
                # While their nodes heartbeat, the winners keep their slots past the ttl.
                await asyncio.sleep(ttl + resolution + interval)
                with pytest.raises(CallFullError):
                    await observer.register(call, "too-early", max_per_call=3)
                # The crash: the child is killed, the local registries stop beating; nobody cleans up.
                child.kill()
                await child.wait()
                for loop in loops:  # insisting: on Python 3.11 a cancel racing a finished call can be lost
                    await cancel_and_wait(loop)
                waiting, rounds, first_round_admitted = ["new-0", "new-1", "new-2"], 0, -1
                while waiting:
                    for session in list(waiting):
                        try:
                            await observer.register(call, session, max_per_call=3)
                        except CallFullError:
                            continue
                        waiting.remove(session)
                        first_round_admitted = rounds if first_round_admitted < 0 else first_round_admitted
                    if waiting:
                        rounds += 1
                        # bounded: slots that never free fail here, naming the round, instead of looping on
                        assert rounds <= math.ceil((ttl + resolution) / interval) + 1, (rounds, waiting)
                        await asyncio.sleep(interval)
                # nothing at once; all three once the node records lapsed (ttl + resolution after the crash)
                assert first_round_admitted >= 1, first_round_admitted
                assert rounds <= math.ceil((ttl + resolution) / interval) + 1, rounds
                with pytest.raises(CallFullError):
                    await observer.register(call, "fourth", max_per_call=3)
                winners = sorted({session.rsplit("-", 1)[0] for session in won})
                assert await observer.store.mget([node_key(node) for node in winners]) == [None] * len(winners)
        finally:
            if child.returncode is None:
                child.kill()
                await child.wait()
            for registry in local:
                await registry.store.close()
