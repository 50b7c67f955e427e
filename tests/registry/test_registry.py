"""SessionRegistry on a shared store: visibility across nodes, close requests, heartbeats, bad records."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
from registry_support import InstrumentedStore, OpenStore, flush, past_expiry, short_ttl

from sessionkv import ConfigurationError, SessionInfo, SessionRegistry, StoreError
from sessionkv.registry.keys import call_prefix, close_key, node_key, session_key
from sessionkv.registry.registry import ROLLING_SLICES

pytestmark = pytest.mark.asyncio

TTL = 5.0


async def test_three_registries_see_each_others_sessions(open_shared: OpenStore) -> None:
    regs = [SessionRegistry(await open_shared(), node_id=f"node-{i}", ttl=TTL) for i in range(3)]
    for reg in regs:
        await reg.start()
    for i, reg in enumerate(regs):
        await reg.register("call-1", f"s{i}", metadata={"lang": "en"})
    await regs[2].register("call-2", "solo")
    for reg in regs:
        found = await reg.get_for_call("call-1")
        assert {(info.session_id, info.node_id) for info in found} == {
            ("s0", "node-0"),
            ("s1", "node-1"),
            ("s2", "node-2"),
        }
        assert all(info.metadata == {"lang": "en"} and info.call_id == "call-1" for info in found)
        assert [info.session_id for info in await reg.get_for_call("call-2")] == ["solo"]
        one = await reg.get("call-1", "s1")
        assert one is not None and one.node_id == "node-1"
        assert len(await reg.list_sessions()) == 4
    for reg in regs:
        await reg.stop()


async def test_close_request_reaches_the_owner_only(open_shared: OpenStore) -> None:
    async with (
        SessionRegistry(await open_shared(), node_id="owner", ttl=TTL) as owner,
        SessionRegistry(await open_shared(), node_id="other", ttl=TTL) as other,
    ):
        await owner.register("c", "a")
        await owner.register("c", "b")
        assert await owner.get_close_requests({"a": "c", "b": "c"}) == []
        assert await other.request_close("c", "b") is True
        assert await owner.get_close_requests({"a": "c", "b": "c"}) == ["b"]
        assert await other.request_close("c", "nope") is False
        assert await owner.get_close_requests({"nope": "c"}) == []


async def test_remove_deletes_the_record_and_its_close_flag(open_shared: OpenStore) -> None:
    store = await open_shared()
    async with SessionRegistry(store, node_id="n", ttl=TTL) as reg:
        await reg.register("c", "s")
        assert await reg.request_close("c", "s")
        assert await store.get(close_key("c", "s")) is not None
        await reg.remove("c", "s")
        assert await reg.get("c", "s") is None
        assert await store.get(session_key("c", "s")) is None
        assert await store.get(close_key("c", "s")) is None
        assert reg.owned_sessions() == []
        await reg.heartbeat()  # a removed session is never resurrected
        assert await reg.get("c", "s") is None


async def test_heartbeat_restores_records_after_a_flush(open_shared: OpenStore) -> None:
    store = await open_shared()
    async with SessionRegistry(store, node_id="n", ttl=TTL) as reg:
        infos = [await reg.register(f"call-{i % 3}", f"s{i}", metadata={"i": i}) for i in range(20)]
        await reg.update_metrics("call-0", "s0", {"load": 0.5})
        before = {info.session_id: info for info in await reg.list_sessions()}
        assert await flush(store) == 21  # 20 sessions and the node record
        assert await reg.list_sessions() == []
        result = await reg.heartbeat()
        assert (result.sessions, result.restored) == (20, 20)
        after = {info.session_id: info for info in await reg.list_sessions()}
        assert after == before
        assert len(after) == len(infos)
        assert after["s0"].metrics == {"load": 0.5}
        assert [node.node_id for node in await reg.nodes()] == ["n"]
        assert (await reg.heartbeat()).restored == 0


async def test_heartbeat_store_calls_do_not_grow_with_sessions(open_shared: OpenStore) -> None:
    for sessions in (10, 300):
        store = InstrumentedStore(await open_shared())
        async with SessionRegistry(store, node_id=f"n{sessions}", ttl=TTL) as reg:
            for i in range(sessions):
                await reg.register(f"call-{i % 7}", f"n{sessions}-s{i}")
            store.calls.clear()
            await reg.heartbeat()
            assert dict(store.calls) == {"set": 1, "touch": 1}  # the node lease (re-written), a slice of the records
            await flush(store.inner)
            store.calls.clear()
            assert (await reg.heartbeat()).restored == sessions
            # lost data: the slice, then every other record, are checked, and all re-written at once
            assert dict(store.calls) == {"set": 1, "touch": 2, "mset": 1}


@pytest.mark.parametrize("sessions", [1, 7, 300])
async def test_heartbeat_writes_one_key_plus_a_tenth_of_the_sessions(open_shared: OpenStore, sessions: int) -> None:
    store = InstrumentedStore(await open_shared())
    async with SessionRegistry(store, node_id="n", ttl=TTL) as reg:
        for i in range(sessions):
            await reg.register("c", f"s{i}")
        store.written.clear()
        reported = 0
        beats = 3 * ROLLING_SLICES
        for _ in range(beats):
            reported += (await reg.heartbeat()).keys_written
        assert sum(store.written.values()) == reported == beats * (1 + sessions / ROLLING_SLICES)
        # every record was refreshed, each equally often: no record is left to expire
        records = [key for key in store.written if key != node_key("n")]
        assert len(records) == sessions
        assert set(store.written[key] for key in records) == {beats // ROLLING_SLICES}


async def test_last_heartbeat_is_the_last_heartbeat_not_the_last_count_change(open_shared: OpenStore) -> None:
    """A live node with an unchanged session count still shows a fresh ``last_heartbeat`` (not its last change)."""
    store = InstrumentedStore(await open_shared())
    async with (
        SessionRegistry(store, node_id="steady", ttl=TTL) as reg,
        SessionRegistry(await open_shared(), node_id="viewer", ttl=TTL) as viewer,
    ):
        await reg.register("c", "s1")
        first = {n.node_id: n for n in await viewer.nodes()}["steady"]
        await asyncio.sleep(0.3)
        store.written.clear()
        await reg.heartbeat()  # the count is still 1
        assert store.written[node_key("steady")] == 1  # the node record, re-written with this beat's time
        second = {n.node_id: n for n in await viewer.nodes()}["steady"]
        assert second.sessions == first.sessions == 1
        assert second.last_heartbeat - first.last_heartbeat >= 0.25, (first, second)


async def test_heartbeat_moves_the_node_lease_and_rewrites_only_lost_records(open_shared: OpenStore) -> None:
    store = await open_shared()
    # 1.5 s: the node lease the last heartbeat moved must outlive the second sleep and the listing after it by
    # more than a loaded machine's delay (at 0.4 s the margin was 0.16 s, and a CI run on moto used it up)
    ttl = short_ttl(store, 1.5)
    async with SessionRegistry(store, node_id="n", ttl=ttl) as reg:
        await reg.register("c", "keep")
        await reg.register("c", "lost")
        await store.delete([session_key("c", "lost")])  # one record evicted: found when its slice comes round
        raw_keep = await store.get(session_key("c", "keep"))
        await asyncio.sleep(ttl * 0.6)
        restored = [(await reg.heartbeat()).restored for _ in range(ROLLING_SLICES)]
        assert sorted(restored) == [0] * (ROLLING_SLICES - 1) + [1]
        await asyncio.sleep(ttl * 0.6)  # 1.2 ttl after register: visible because the heartbeats moved the lease
        assert await store.get(session_key("c", "keep")) == raw_keep
        assert [info.session_id for info in await reg.get_for_call("c")] == ["keep", "lost"]


async def test_a_node_restarted_under_the_same_id_does_not_revive_old_sessions(open_shared: OpenStore) -> None:
    store = await open_shared()
    async with SessionRegistry(store, node_id="watcher", ttl=TTL) as watcher:
        ttl = short_ttl(store, 0.2)
        crashed = SessionRegistry(store, node_id="node-a", ttl=ttl)
        await crashed.register("c", "before-crash")  # never stopped: its record lingers in the store
        await asyncio.sleep(past_expiry(store, ttl))
        assert await watcher.get_for_call("c") == []
        async with SessionRegistry(store, node_id="node-a", ttl=TTL) as restarted:
            await restarted.register("c", "after-restart")
            assert [info.session_id for info in await watcher.get_for_call("c")] == ["after-restart"]
            assert await watcher.get("c", "before-crash") is None
            assert await watcher.request_close("c", "before-crash") is False


async def test_a_failed_remove_is_retried_by_the_next_heartbeat(open_shared: OpenStore) -> None:
    store = InstrumentedStore(await open_shared())
    async with SessionRegistry(store, node_id="n", ttl=TTL) as reg:
        await reg.register("c", "s")
        store.failing, store.fail_only = True, {"delete"}
        with pytest.raises(StoreError):
            await reg.remove("c", "s")
        await reg.heartbeat()  # still failing: kept for later
        store.failing = False
        assert await store.inner.get(session_key("c", "s")) is not None
        await reg.heartbeat()
        assert await store.inner.get(session_key("c", "s")) is None
        assert await reg.get("c", "s") is None


async def test_sessions_of_a_registry_that_stops_heartbeating_expire(open_shared: OpenStore) -> None:
    store = await open_shared()
    ttl = short_ttl(store, 0.2)
    async with (
        SessionRegistry(await open_shared(), node_id="crashy", ttl=ttl) as crashy,
        SessionRegistry(await open_shared(), node_id="steady", ttl=ttl) as steady,
    ):
        await crashy.register("c", "x")
        await crashy.heartbeat()
        await steady.register("c", "y")
        assert {node.node_id for node in await steady.nodes()} == {"crashy", "steady"}
        deadline = asyncio.get_running_loop().time() + past_expiry(store, ttl)
        while asyncio.get_running_loop().time() < deadline:  # crashy stops heartbeating, steady goes on
            await asyncio.sleep(ttl / 4)
            await steady.heartbeat()
        assert [info.session_id for info in await steady.get_for_call("c")] == ["y"]
        assert [(node.node_id, node.sessions) for node in await steady.nodes()] == [("steady", 1)]


async def test_stop_deletes_this_nodes_records(open_shared: OpenStore) -> None:
    store = await open_shared()
    async with SessionRegistry(store, node_id="watcher", ttl=TTL) as watcher:
        reg = SessionRegistry(store, node_id="leaving", ttl=TTL)
        await reg.start()
        await reg.register("c", "s")
        await reg.heartbeat()
        assert [node.node_id for node in await watcher.nodes()] == ["leaving"]
        await reg.stop()
        assert await watcher.get_for_call("c") == []
        assert await watcher.nodes() == []


async def test_update_metrics_replaces_or_merges_and_stamps(open_shared: OpenStore) -> None:
    async with (
        SessionRegistry(await open_shared(), node_id="owner", ttl=TTL) as owner,
        SessionRegistry(await open_shared(), node_id="other", ttl=TTL) as other,
    ):
        info = await owner.register("c", "s")
        assert info.metrics_updated_at == info.started_at
        await owner.update_metrics("c", "s", {"a": 1})
        updated = await owner.update_metrics("c", "s", {"b": 2}, merge=True)
        assert updated is not None and updated.metrics == {"a": 1, "b": 2}
        seen = await other.get("c", "s")
        assert seen is not None and seen.metrics == {"a": 1, "b": 2} and seen.metrics_updated_at > info.started_at
        remote = await other.update_metrics("c", "s", {"c": 3}, merge=True)
        assert remote is not None and remote.metrics == {"a": 1, "b": 2, "c": 3}
        replaced = await other.update_metrics("c", "s", {"d": 4})
        assert replaced is not None and replaced.metrics == {"d": 4}
        assert (await owner.get("c", "s")).metrics == {"d": 4}  # type: ignore[union-attr]
        assert await other.update_metrics("c", "missing", {"x": 1}) is None
        assert await other.get("c", "missing") is None  # never created


@pytest.mark.parametrize(
    "call_ids",
    [
        ("a", "a/b", "a%2Fb", "a/", "a*", "a?", "a b", "*", "?", "[a]", "ün/ï", "a%"),
        ("room", "room/1", "room/1/x", "ro*", "r?om", "room ", " room", "röom", "路/由"),
    ],
)
async def test_ids_with_separators_and_globs_never_leak_across_calls(
    open_shared: OpenStore, call_ids: tuple[str, ...]
) -> None:
    async with SessionRegistry(await open_shared(), node_id="n/*? é", ttl=TTL) as reg:
        for call in call_ids:
            for session in ("s", "s/1", "*", "?", "a b", "é/*"):
                await reg.register(call, f"{call}|{session}")
        for call in call_ids:
            found = await reg.get_for_call(call)
            assert all(info.call_id == call for info in found), (call, found)
            assert len(found) == 6
            assert await reg.get(call, f"{call}|*") is not None
        await reg.heartbeat()
        assert [node.node_id for node in await reg.nodes()] == ["n/*? é"]
        assert len(await reg.list_sessions()) == 6 * len(call_ids)


async def test_corrupt_and_unknown_field_records(open_shared: OpenStore, caplog: pytest.LogCaptureFixture) -> None:
    store = await open_shared()
    async with SessionRegistry(store, node_id="n", ttl=TTL) as reg:
        await reg.register("c", "good")
        future = {
            "session_id": "future",
            "call_id": "c",
            "node_id": "n2",
            "started_at": 1.5,
            "metrics": {"x": 1},
            "shiny_new_field": [1, 2],
        }
        await store.set(session_key("c", "future"), json.dumps(future).encode(), TTL)
        future_node = {"node_id": "n2", "sessions": 1, "started_at": 1.0, "last_heartbeat": 2.0, "new": {"a": 1}}
        await store.set(node_key("n2"), json.dumps(future_node).encode(), TTL)
        garbage = {
            "bad-json": b"{not json",
            "not-object": b"[1, 2]",
            "bad-utf8": b"\xff\xfe",
            "no-node": json.dumps({"session_id": "no-node", "call_id": "c", "started_at": 1}).encode(),
            "bad-metrics": json.dumps(
                {"session_id": "bad-metrics", "call_id": "c", "node_id": "n", "started_at": 1, "metrics": [1]}
            ).encode(),
            "liar": json.dumps({"session_id": "other", "call_id": "c", "node_id": "n", "started_at": 1}).encode(),
            "impostor": json.dumps(
                {"session_id": "impostor", "call_id": "c", "node_id": "n", "started_at": 1}
            ).encode(),
            "huge": json.dumps(
                {
                    "session_id": "huge",
                    "call_id": "c",
                    "node_id": "n2",
                    "started_at": 1,
                    "metadata": {"x": "y" * 70_000},
                }
            ).encode(),
        }
        for session, raw in garbage.items():
            await store.set(session_key("c", session), raw, TTL)
        await store.set(call_prefix("c") + "extra/segment", b"{}", TTL)
        await store.set(node_key("corrupt-node"), b"nope", TTL)
        with caplog.at_level(logging.WARNING, logger="sessionkv.registry"):
            found = await reg.get_for_call("c")
            # one warning per bad record (the garbage and the extra segment), and none for the good ones;
            # counted on the registry's loggers only (a tiered store's hot tier may warn under load)
            warnings = [r for r in caplog.records if r.name.startswith("sessionkv.registry")]
            assert len(warnings) == len(garbage) + 1, [r.getMessage() for r in warnings]
            assert await reg.get("c", "bad-json") is None
            assert [node.node_id for node in await reg.nodes()] == ["n", "n2"]
        assert sorted(info.session_id for info in found) == ["future", "good"]
        future_info = next(info for info in found if info.session_id == "future")
        assert future_info == SessionInfo("future", "c", "n2", 1.5, None, {"x": 1}, {})
        warned = " ".join(record.getMessage() for record in caplog.records)
        for session in garbage:
            assert session in warned
        assert "corrupt-node" in warned


async def test_bad_arguments_are_refused_before_any_io(open_shared: OpenStore) -> None:
    store = InstrumentedStore(await open_shared())
    with pytest.raises(ConfigurationError, match="ttl"):
        SessionRegistry(store, ttl=0)
    with pytest.raises(ConfigurationError, match="ttl"):
        SessionRegistry(store, ttl=float("nan"))
    with pytest.raises(TypeError):
        SessionRegistry(42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="node_id"):
        SessionRegistry(store, node_id="")
    reg = SessionRegistry(store, node_id="n", ttl=TTL)
    async with reg:
        with pytest.raises(ValueError, match="call_id"):
            await reg.register("", "s")
        with pytest.raises(TypeError, match="session_id"):
            await reg.register("c", 5)  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            await reg.register("c", "s", metadata={"x": object()})
        with pytest.raises(ValueError):
            await reg.register("c", "s", metadata={"x": float("nan")})
        with pytest.raises(TypeError):
            await reg.update_metrics("c", "s", [1])  # type: ignore[arg-type]
        assert store.total() == 0
        assert reg.owned_sessions() == []


async def test_registry_owns_a_store_opened_from_a_url() -> None:
    url = "memory://registry-owned-url"
    async with SessionRegistry(url, node_id="a", ttl=TTL) as a, SessionRegistry(url, node_id="b", ttl=TTL) as b:
        await a.register("c", "s")
        assert [info.node_id for info in await b.get_for_call("c")] == ["a"]
    async with SessionRegistry(ttl=TTL) as private:  # None: a private in-memory store
        await private.register("c", "s")
        assert len(await private.list_sessions()) == 1
        assert private.node_id
