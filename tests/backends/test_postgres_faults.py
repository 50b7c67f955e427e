"""PostgresStore under faults of a real PostgreSQL 15 it does not own the life of: SIGKILL of the postmaster then
a restart on the same port and data dir (crash recovery), SIGSTOP of every server process then SIGCONT, and a
dead port. Every call ends within the documented bound (``call_bound``: 3 x connect_timeout + 2 x
command_timeout) with a ``StoreError`` whose cause is chained, a conditional write cut off is reported "may have
been applied" (never re-sent), and the same store object works again without being reopened. The faults common
to every backend run on PostgreSQL too: tests/hardening/test_hardening_faults.py."""

from __future__ import annotations

import asyncio
import signal
import uuid
from collections.abc import Awaitable, Callable

import pytest

from servers.postgres_process import PostgresProcess, postgres_url
from servers.process import free_port
from sessionkv import StoreError, StoreNotStartedError
from sessionkv_postgres.store import PostgresStore

pytestmark = pytest.mark.asyncio

StartPostgres = Callable[..., PostgresProcess]
TIMEOUT = 1.0
#: The documented worst case of one call with these timeouts (docs/guarantees.md), plus slack for a loaded machine.
BOUND = 3 * TIMEOUT + 2 * TIMEOUT
HANG = BOUND + 2.0
SECRET = "pw-Planted-s3cret"


def durable(start: StartPostgres) -> PostgresProcess:
    """A server that acknowledges a commit once its WAL is written (the test servers' default is not to)."""
    return start("synchronous_commit=on")


def open_store(server: PostgresProcess, **options: str) -> PostgresStore:
    url = postgres_url(
        server, command_timeout=str(TIMEOUT), connect_timeout=str(TIMEOUT), create_table="true", **options
    )
    return PostgresStore(url, namespace=f"f-{uuid.uuid4().hex[:12]}:")


def calls(store: PostgresStore, i: int) -> list[tuple[str, Callable[[], Awaitable[object]]]]:
    """One of each kind of call (the conditional writes last), on keys of a directory and of the root."""
    return [
        ("set", lambda: store.set(f"d/k{i}", b"v", 60)),
        ("mset", lambda: store.mset([(f"d/m{i}", b"v", 60), (f"r{i}", b"v", 60)])),
        ("get", lambda: store.get("d/a")),
        ("mget", lambda: store.mget(["d/a", f"r{i}"])),
        ("touch", lambda: store.touch(["d/a", "missing"], 60)),
        ("expire", lambda: store.expire("d/a", ttl=60)),
        ("keys", lambda: store.keys("d/")),
        ("delete", lambda: store.delete([f"r{i}"])),
        ("get_versioned", lambda: store.get_versioned("d/a")),
        ("add", lambda: store.add(f"new{i}", b"v", 60)),
        ("cas", lambda: store.cas("d/a", b"w", 60, version=1)),
        ("delete_if", lambda: store.delete_if("d/b", version=1)),
    ]


CONDITIONAL = {"add", "cas", "delete_if"}


async def every_call_fails_bounded(store: PostgresStore, i: int, says: str) -> None:
    """Each kind of call raises StoreError (cause chained, ``says`` in it) before ``HANG``; none hangs or leaks."""
    for name, call in calls(store, i):
        with pytest.raises(StoreError) as info:  # wait_for's TimeoutError instead would mean: it hung
            await asyncio.wait_for(call(), HANG)
        message = str(info.value)
        assert info.value.__cause__ is not None and "\n" not in message, (name, message)
        assert says in message, (name, message)
        if name in CONDITIONAL and "no reply" in message:  # sent, no answer: it may have run
            assert "may have been applied" in message, (name, message)
        assert name in message, (name, message)


async def test_sigkill_then_restart_on_the_same_data_dir_the_same_store_recovers(
    postgres_process: StartPostgres,
) -> None:
    server = durable(postgres_process)
    async with open_store(server) as store:
        await store.mset([("d/a", b"1", 600), ("d/b", b"2", 600)])
        server.kill()
        await every_call_fails_bounded(store, 0, "postgres")
        server.start()  # same port, same data dir: crash recovery replays the log
        assert await asyncio.wait_for(store.mget(["d/a", "d/b"]), HANG) == [b"1", b"2"]
        await store.set("d/c", b"3", 60)
        assert await store.keys("d/") == ["d/a", "d/b", "d/c"]
        current = await store.get_versioned("d/a")
        assert current is not None and await store.cas("d/a", b"x", 60, version=current.version) is not None


async def test_a_restart_between_calls_is_invisible_to_idempotent_calls(postgres_process: StartPostgres) -> None:
    server = durable(postgres_process)
    async with open_store(server, pool_min_size="2") as store:
        await store.set("k", b"v", 600)
        await asyncio.gather(store.get("k"), store.get("k"))  # two pooled connections, both to the old server
        server.kill()
        server.start()
        # The pool still holds connections to the dead server: each call retries once on a fresh one.
        for _, call in calls(store, 1)[:8]:
            await asyncio.wait_for(call(), HANG)
        assert await store.get("k") == b"v"


async def test_sigstop_of_the_whole_server_then_sigcont(postgres_process: StartPostgres) -> None:
    server = durable(postgres_process)
    async with open_store(server) as store:
        await store.mset([("d/a", b"1", 600), ("d/b", b"2", 600)])
        server.signal_all(signal.SIGSTOP)
        try:
            await every_call_fails_bounded(store, 0, "postgres")
        finally:
            server.signal_all(signal.SIGCONT)
        assert await asyncio.wait_for(store.mget(["d/a", "d/b"]), HANG) == [b"1", b"2"]
        # Writes sent while frozen may still run after SIGCONT (their connection was dropped, not unsent).
        assert {"d/a", "d/b"} <= set(await store.keys("d/")) <= {"d/a", "d/b", "d/k0", "d/m0"}
        await store.set("d/c", b"3", 60)
        assert "d/c" in await store.keys("d/")


async def test_a_cas_cut_off_by_a_freeze_is_reported_unknown_and_not_resent(postgres_process: StartPostgres) -> None:
    server = postgres_process()
    async with open_store(server) as store:
        version = await store.cas("counter", b"1", 600, version=None)
        assert version is not None
        server.signal_all(signal.SIGSTOP)
        sent = store.round_trips
        try:
            with pytest.raises(StoreError, match="may have been applied"):
                await asyncio.wait_for(store.cas("counter", b"2", 600, version=version), HANG)
        finally:
            server.signal_all(signal.SIGCONT)
        assert store.round_trips == sent + 1, "a cas whose outcome is unknown was sent again"
        value = await store.get_versioned("counter")
        assert value is not None and value.value in (b"1", b"2")


async def test_a_dead_port_fails_start_bounded_without_the_password() -> None:
    url = f"postgresql://app:{SECRET}@127.0.0.1:{free_port()}/db?connect_timeout={TIMEOUT}"
    store = PostgresStore(url)
    with pytest.raises(StoreError) as info:
        await asyncio.wait_for(store.start(), HANG)
    assert info.value.__cause__ is not None and "connect" in str(info.value)
    assert SECRET not in str(info.value) and SECRET not in repr(store)
    with pytest.raises(StoreNotStartedError):
        await store.get("k")
