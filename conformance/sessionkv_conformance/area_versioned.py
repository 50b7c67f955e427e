"""Versioned writes and leases: ``add``, ``get_versioned``, ``cas``, ``delete_if``, ``lease``, ``Documents``.

These operations are optional. A backend without them (``sessionkv.supports_versions`` is false,
e.g. a store written against the published interface only) gets each test reported as adapted,
"not implemented (optional)", never as a failure. Contention here is many tasks on one event loop
(several connections on server backends); each server backend's own tests also run the counter
from two processes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from sessionkv import (
    Documents,
    FencedOutError,
    LeaseNotAcquiredError,
    SessionKVStore,
    supports_versions,
)

from .helpers import Clock, timing, twin
from .runner import adapted, area
from .targets import StoreFactory

#: Concurrent incrementing tasks in the contention tests, and increments each makes.
TASKS, INCREMENTS = 16, 5


def implemented(store: SessionKVStore) -> bool:
    """True if the store implements the versioned operations; otherwise record why the test adapted."""
    if supports_versions(store):
        return True
    adapted("add/get_versioned/cas/delete_if: not implemented (optional); nothing to check")
    return False


async def increment(store: SessionKVStore, key: str) -> int:
    """One lost-update-free increment of an ASCII counter through a get_versioned/cas retry loop."""
    while True:
        current = await store.get_versioned(key)
        number = int(current.value) + 1 if current is not None else 1
        version = current.version if current is not None else None
        if await store.cas(key, str(number).encode(), 3600, version=version) is not None:
            return number
        await asyncio.sleep(0)


@area("versioned writes & leases")
class VersionedTests:
    """Atomic create, compare-and-set and compare-and-delete; leases with fencing; versioned documents."""

    async def test_versions_agree_across_two_store_objects(
        self, store: SessionKVStore, store_factory: StoreFactory
    ) -> None:
        if not implemented(store):
            return
        async with twin(store_factory, store) as other:
            v1 = await store.cas("doc", b"1", 3600, version=None)
            assert v1 is not None, "cas(version=None) did not create an absent key"
            seen = await other.get_versioned("doc")
            assert seen is not None and seen.value == b"1", f"the second object read {seen!r}"
            assert seen.version == v1, (
                f"two objects on one namespace disagree on the version: {v1!r} vs {seen.version!r}"
            )
            v2 = await other.cas("doc", b"2", 3600, version=v1)
            assert v2 is not None, "the second object's cas at the version the first wrote was refused"
            assert v2 != v1, (
                f"a write by the second object gave the version the first object's write had ({v1!r}): versions "
                "must be unique per key across store objects, not per object"
            )
            assert await store.cas("doc", b"3", 3600, version=v1) is None, (
                "cas accepted a version another store object had already replaced (a per-object version counter?)"
            )
            now = await store.get_versioned("doc")
            assert now is not None and (now.value, now.version) == (b"2", v2), f"the first object reads {now!r}"
            assert await store.delete_if("doc", v1) is False, "delete_if accepted a replaced version"
            assert await other.delete_if("doc", v2) is True
            assert await store.get("doc") is None

    async def test_add_creates_only_if_absent_or_expired(self, store: SessionKVStore) -> None:
        if not implemented(store):
            return
        t = timing(store)
        assert await store.add("a", b"first", t.long) is True
        assert await store.add("a", b"second", t.long) is False, "add overwrote a live key"
        assert await store.get("a") == b"first"
        await store.set("short", b"old", t.short)
        clock = Clock()
        await clock.until(t.gone_after(t.short))
        assert await store.add("short", b"new", t.long) is True, "add refused a key that had expired"
        assert await store.get("short") == b"new"

    async def test_add_is_atomic_under_contention(self, store: SessionKVStore) -> None:
        if not implemented(store):
            return
        results = await asyncio.gather(*(store.add("contended", str(i).encode(), 3600) for i in range(TASKS)))
        assert results.count(True) == 1, f"{results.count(True)} concurrent adds all won"
        winner = results.index(True)
        assert await store.get("contended") == str(winner).encode()

    async def test_versions_change_on_every_kind_of_write(self, store: SessionKVStore) -> None:
        if not implemented(store):
            return
        assert await store.get_versioned("k") is None
        await store.set("k", b"same", 3600)
        writes: list[Callable[[], Awaitable[None]]] = [
            lambda: store.set("k", b"same", 3600),
            lambda: store.mset([("k", b"same", 3600)]),
            lambda: store.set("k", b"same", 3600, only_if_exists=True),
        ]
        for write in writes:
            before = await store.get_versioned("k")
            assert before is not None and before.value == b"same"
            await write()
            after = await store.get_versioned("k")
            assert after is not None and after.version != before.version, "a write of the same value kept the version"
        current = await store.get_versioned("k")
        assert current is not None
        written = await store.cas("k", b"same", 3600, version=current.version)
        assert written is not None and written != current.version
        again = await store.get_versioned("k")
        assert again is not None and again.version == written, "get_versioned disagrees with the version cas returned"

    async def test_cas_writes_only_on_the_matching_version(self, store: SessionKVStore) -> None:
        if not implemented(store):
            return
        first = await store.cas("doc", b"v1", 3600, version=None)
        assert first is not None, "cas(version=None) did not create an absent key"
        assert await store.cas("doc", b"again", 3600, version=None) is None, "cas(version=None) overwrote a live key"
        second = await store.cas("doc", b"v2", 3600, version=first)
        assert second is not None and second != first
        assert await store.cas("doc", b"stale", 3600, version=first) is None, "cas accepted a stale version"
        assert await store.get("doc") == b"v2", "a failed cas wrote anyway"
        await store.delete(["doc"])
        assert await store.cas("doc", b"revived", 3600, version=second) is None, "cas recreated a deleted key"
        assert await store.get("doc") is None

    async def test_cas_and_delete_if_treat_an_expired_key_as_absent(self, store: SessionKVStore) -> None:
        if not implemented(store):
            return
        t = timing(store)
        version = await store.cas("short", b"v", t.short, version=None)
        assert version is not None
        clock = Clock()
        await clock.until(t.gone_after(t.short))
        assert await store.get_versioned("short") is None
        assert await store.delete_if("short", version) is False, "delete_if matched an expired key"
        assert await store.cas("short", b"late", t.long, version=version) is None, "cas matched an expired key"
        assert await store.cas("short", b"fresh", t.long, version=None) is not None

    async def test_delete_if_only_on_the_matching_version(self, store: SessionKVStore) -> None:
        if not implemented(store):
            return
        await store.set("k", b"1", 3600)
        old = await store.get_versioned("k")
        assert old is not None
        await store.set("k", b"2", 3600)
        assert await store.delete_if("k", old.version) is False, "delete_if removed a key written since"
        assert await store.get("k") == b"2"
        new = await store.get_versioned("k")
        assert new is not None
        assert await store.delete_if("k", new.version) is True
        assert await store.get("k") is None
        assert await store.delete_if("k", new.version) is False, "delete_if of a deleted key reported success"

    async def test_counter_loses_no_increment_under_contention(self, store: SessionKVStore) -> None:
        if not implemented(store):
            return
        results = await asyncio.gather(*(self._increments(store) for _ in range(TASKS)))
        numbers = sorted(n for run in results for n in run)
        assert numbers == list(range(1, TASKS * INCREMENTS + 1)), "concurrent cas increments were lost or repeated"
        stored = await store.get("counter")
        assert stored == str(TASKS * INCREMENTS).encode()

    async def _increments(self, store: SessionKVStore) -> list[int]:
        return [await increment(store, "counter") for _ in range(INCREMENTS)]

    async def test_lease_admits_one_owner_and_only_the_owner_releases(self, store: SessionKVStore) -> None:
        if not implemented(store):
            return
        t = timing(store)
        first, second = store.lease("job", t.long), store.lease("job", t.long)
        assert await first.acquire() is True and first.held
        assert await second.acquire() is False and not second.held
        assert await second.release() is False and await second.renew() is False, "a non-owner released or renewed"
        assert await store.get(first.key) == first.token
        assert await first.renew() is True
        assert await first.release() is True and not first.held
        assert await first.release() is False, "a second release reported success"
        assert await second.acquire() is True, "a released lease could not be taken"
        try:
            async with store.lease("job", t.long):
                raise AssertionError("a held lease was acquired again")
        except LeaseNotAcquiredError:
            pass
        await second.release()

    async def test_lease_lost_by_expiry_cannot_be_renewed_or_released(self, store: SessionKVStore) -> None:
        if not implemented(store):
            return
        t = timing(store)
        lapsed = store.lease("lapsing", t.window)  # long enough for acquire's round trips on a busy machine
        assert await lapsed.acquire()
        clock = Clock()
        await clock.until(t.gone_after(t.window))
        taker = store.lease("lapsing", t.long)
        assert await taker.acquire(), "an expired lease could not be taken"
        assert await lapsed.renew() is False, "a lapsed owner renewed a lease someone else holds"
        assert await lapsed.release() is False
        assert await store.get(taker.key) == taker.token, "the lapsed owner disturbed the new owner's lease"
        await taker.release()

    async def test_lease_wait_polls_until_released(self, store: SessionKVStore) -> None:
        if not implemented(store):
            return
        t = timing(store)
        holder = store.lease("queue", t.long)
        assert await holder.acquire()

        async def release_soon() -> None:
            await asyncio.sleep(0.05)
            await holder.release()

        waiter = store.lease("queue", t.long, wait=t.long)
        releasing = asyncio.ensure_future(release_soon())
        assert await waiter.acquire() is True, "wait did not pick up a released lease"
        await releasing
        await waiter.release()

    async def test_lease_fence_strictly_increases_where_declared(self, store: SessionKVStore) -> None:
        if not implemented(store):
            return
        fencing = store.capabilities.fencing
        if fencing == "none":
            lease = store.lease("fenced", 3600)
            assert await lease.acquire()
            assert lease.fence is None, "a backend declaring fencing='none' handed out a fence"
            await lease.release()
            adapted("capabilities.fencing is 'none': checked that no fence is handed out")
            return
        fences: list[int] = []
        for _ in range(5):
            lease = store.lease("fenced", 3600)
            assert await lease.acquire()
            assert isinstance(lease.fence, int), f"fencing={fencing!r} but the lease has no fence"
            fences.append(lease.fence)
            await lease.release()
        assert fences == sorted(set(fences)) and len(fences) == 5, f"fences did not strictly increase: {fences}"

    async def test_documents_update_loses_nothing_under_contention(self, store: SessionKVStore) -> None:
        if not implemented(store):
            return
        docs = Documents(store, "conversation/")

        async def append(turn: int) -> None:
            await docs.update("c1", lambda old: (old or b"") + b"%d," % turn, 3600, retries=200)

        await asyncio.gather(*(append(i) for i in range(TASKS)))
        value, version = await docs.load("c1")
        assert value is not None and version is not None
        turns = sorted(int(part) for part in value.decode().rstrip(",").split(","))
        assert turns == list(range(TASKS)), "a concurrent update was lost"
        assert await docs.load("missing") == (None, None)

    async def test_documents_refuse_a_stale_fence(self, store: SessionKVStore) -> None:
        if not implemented(store):
            return
        docs = Documents(store, "fenced-doc/")
        version = await docs.save("d", b"by fence 5", None, 3600, fence=5)
        newer = await docs.save("d", b"by fence 7", version, 3600, fence=7)
        value, current = await docs.load("d")
        assert (value, current) == (b"by fence 7", newer)
        try:
            await docs.save("d", b"by fence 6", newer, 3600, fence=6)
            raise AssertionError("a write with a lower fence than the document has seen was accepted")
        except FencedOutError:
            pass
        assert (await docs.load("d"))[0] == b"by fence 7", "a refused write changed the document"
