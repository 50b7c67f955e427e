"""``sessionkv demo``: three nodes register sessions, see each other's, close one across nodes, one crashes.

On ``memory://`` (the default) the three nodes run in this process on a named shared store; on
any other URL (e.g. ``redis://``) each node is a real OS process started here, and the crash is
a ``kill -9``. The story is narrated with tables and returns 0 only if every step happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from ..discovery import open_store
from ..registry import SessionNode, SessionRegistry
from ..registry.node import check_ttl_covers_interval
from ..store import SessionKVStore
from ..url import StoreURL, redact
from .session_tables import sessions_table
from .table import render_table

NODE_IDS = ("node-a", "node-b", "node-c")
SESSIONS_PER_NODE = 2
Say = Callable[[str], None]


@dataclass
class DemoTiming:
    """The demo's ttl and maintenance interval (the 3 x rule applies: ttl >= 3 x interval)."""

    ttl: float = 3.0
    interval: float = 1.0

    def __post_init__(self) -> None:
        check_ttl_covers_interval(self.ttl, self.interval)


def session_ids(node_id: str) -> list[tuple[str, str]]:
    """The ``(call_id, session_id)`` pairs a demo node runs: one per call, calls shared by all nodes."""
    letter = node_id.rsplit("-", 1)[-1]
    return [(f"call-{i + 1}", f"{letter}{i + 1}") for i in range(SESSIONS_PER_NODE)]


def demo_session(node: SessionNode, call_id: str, session_id: str, events: list[str]) -> Callable[[], Awaitable[None]]:
    """A session that reports a 'turns' metric every maintenance interval until it is cancelled."""

    async def run() -> None:
        turns = 0
        try:
            while True:
                await asyncio.sleep(node.maintenance_interval)
                turns += 1
                with contextlib.suppress(Exception):  # a metrics hiccup must not end the session
                    await node.registry.update_metrics(call_id, session_id, {"turns": turns})
        except asyncio.CancelledError:
            events.append(f"{node.node_id}: session {call_id}/{session_id} cancelled (close requested)")
            raise

    return run


@dataclass
class DemoCluster:
    """The three nodes: in this process (memory://) or as OS processes (any other URL)."""

    url: str
    namespace: str | None
    timing: DemoTiming
    events: list[str] = field(default_factory=list)
    nodes: dict[str, SessionNode] = field(default_factory=dict)
    stores: list[SessionKVStore] = field(default_factory=list)
    procs: dict[str, asyncio.subprocess.Process] = field(default_factory=dict)
    readers: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def in_process(self) -> bool:
        return StoreURL.parse(self.url).scheme == "memory"

    def open(self) -> SessionKVStore:
        """A new (not started) store on the demo's URL and namespace."""
        return open_store(self.url, **({"namespace": self.namespace} if self.namespace else {}))

    async def start(self) -> None:
        for node_id in NODE_IDS:
            if self.in_process:
                store = self.open()
                self.stores.append(store)
                await store.start()
                node = SessionNode(
                    store, node_id=node_id, ttl=self.timing.ttl, maintenance_interval=self.timing.interval
                )
                await node.start()
                self.nodes[node_id] = node
                for call_id, session_id in session_ids(node_id):
                    await node.start_session(call_id, session_id, demo_session(node, call_id, session_id, self.events))
            else:
                await self.spawn(node_id)

    async def spawn(self, node_id: str) -> None:
        argv = [sys.executable, "-m", "sessionkv.cli", "demo", "--url", self.url, "--worker", node_id]
        argv += ["--ttl", str(self.timing.ttl), "--interval", str(self.timing.interval)]
        if self.namespace:
            argv += ["--namespace", self.namespace]
        proc = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.PIPE)
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), timeout=30)
        if not line.startswith(b"ready"):
            raise RuntimeError(f"demo worker {node_id} did not start (exit code {await proc.wait()})")
        self.procs[node_id] = proc
        self.readers.append(asyncio.get_running_loop().create_task(self.relay(proc)))

    async def relay(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        async for line in proc.stdout:
            self.events.append(line.decode(errors="replace").rstrip())

    def pid(self, node_id: str) -> int | None:
        proc = self.procs.get(node_id)
        return None if proc is None else proc.pid

    async def crash(self, node_id: str) -> None:
        """Stop a node with no cleanup: abandon in-process, SIGKILL for an OS process."""
        if self.in_process:
            await self.nodes.pop(node_id).abandon()
        else:
            proc = self.procs.pop(node_id)
            proc.kill()
            await proc.wait()

    async def stop(self) -> None:
        for node in self.nodes.values():
            await node.stop()
        self.nodes.clear()
        for proc in self.procs.values():
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                await asyncio.wait_for(proc.wait(), timeout=10)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        self.procs.clear()
        for reader in self.readers:
            reader.cancel()
        await asyncio.gather(*self.readers, return_exceptions=True)
        for store in self.stores:
            await store.close()

    def views(self, observer: SessionRegistry) -> dict[str, SessionRegistry]:
        """Which registries to ask 'what do you see?': each node here, or the operator process."""
        if self.in_process:
            return {node_id: node.registry for node_id, node in self.nodes.items()}
        return {"operator (this process)": observer}


async def run_demo(url: str = "memory://demo", timing: DemoTiming | None = None, say: Say = print) -> int:
    """Narrate the whole story; 0 if every step happened as told, 1 otherwise."""
    timing = timing or DemoTiming()
    namespace = None if "namespace" in StoreURL.parse(url).query else f"sessionkv-demo-{secrets.token_hex(3)}:"
    cluster = DemoCluster(url, namespace, timing)
    where = "three nodes in this process" if cluster.in_process else "three OS processes"
    say(f"sessionkv demo on {redact(url)}: {where}, ttl {timing.ttl:g} s, heartbeat every {timing.interval:g} s\n")
    observer_store = cluster.open()
    await observer_store.start()
    observer = SessionRegistry(observer_store, node_id="operator", ttl=timing.ttl)
    ok = True
    try:
        await observer.start()
        await cluster.start()
        pids = "".join(f" {n} is pid {cluster.pid(n)}." for n in NODE_IDS if cluster.pid(n))
        say(f"1. Each node registers {SESSIONS_PER_NODE} sessions.{pids}")
        all_sessions = await observer.list_sessions()
        say(sessions_table(all_sessions) + "\n")
        ok &= len(all_sessions) == len(NODE_IDS) * SESSIONS_PER_NODE

        say("2. Every node sees every session, wherever it runs:")
        rows = []
        for name, registry in cluster.views(observer).items():
            seen = await registry.list_sessions()
            by_node = {n: sum(1 for s in seen if s.node_id == n) for n in NODE_IDS}
            rows.append((name, len(seen), *(by_node[n] for n in NODE_IDS)))
            ok &= len(seen) == len(all_sessions)
        say(render_table(("seen from", "sessions", *(f"on {n}" for n in NODE_IDS)), rows) + "\n")

        ok &= await close_across_nodes(cluster, observer, timing, say)
        ok &= await crash_a_node(cluster, observer, timing, say)
    finally:
        await cluster.stop()
        left = await observer.list_sessions()
        await observer.stop()
        lingering = await clear_namespace(observer_store, namespace)
        remaining = len(await observer_store.keys(""))
        await observer_store.close()
    say(f"5. The surviving nodes shut down cleanly: {len(left)} sessions left in the store.")
    if namespace is not None:
        say(
            f"   node-b's crashed records ({lingering} keys) would expire within 10 x ttl; the demo removes them "
            f"now from its own namespace: {remaining} keys left in the store."
        )
        ok &= remaining == 0
    ok &= not left
    say("\ndemo " + ("complete: every step happened as described." if ok else "FAILED: see the steps above."))
    return 0 if ok else 1


async def close_across_nodes(cluster: DemoCluster, observer: SessionRegistry, timing: DemoTiming, say: Say) -> bool:
    """Step 3: node-c (or the operator process) closes a session that runs on node-a."""
    call_id, session_id = session_ids("node-a")[0]
    closer = "node-c" if cluster.in_process else "the operator process"
    registry = cluster.nodes["node-c"].registry if cluster.in_process else observer
    say(f"3. {closer} asks to close session {session_id} of {call_id}, which runs on node-a.")
    started = time.monotonic()
    requested = await registry.request_close(call_id, session_id)
    gone = await wait_until(lambda: _is_gone(observer, call_id, session_id), within=timing.ttl * 3 + 5)
    await asyncio.sleep(0.05)  # let the owner's report arrive
    for event in cluster.events:
        if f"{call_id}/{session_id}" in event:
            say(f"   {event}")
    say(f"   gone from the registry after {time.monotonic() - started:.1f} s, at the owner's next maintenance cycle.")
    say(sessions_table(await observer.get_for_call(call_id)) + "\n")
    return requested and gone


async def crash_a_node(cluster: DemoCluster, observer: SessionRegistry, timing: DemoTiming, say: Say) -> bool:
    """Step 4: node-b stops heartbeating without cleanup; its sessions vanish once their ttl lapses."""
    how = (
        "abandons everything (no cleanup)"
        if cluster.in_process
        else f"is killed with SIGKILL (pid {cluster.pid('node-b')})"
    )
    say(f"4. node-b crashes: it {how}. Its records stay until their {timing.ttl:g} s ttl lapses.")
    before = {s.session_id for s in await observer.list_sessions() if s.node_id != "node-b"}
    await cluster.crash("node-b")
    started = time.monotonic()
    rows = []
    while True:
        sessions = await observer.list_sessions()
        nodes = [n.node_id for n in await observer.nodes()]
        elapsed = time.monotonic() - started
        on_b = sum(1 for s in sessions if s.node_id == "node-b")
        rows.append((f"+{elapsed:.1f}s", len(sessions), on_b, ", ".join(nodes)))
        if on_b == 0 and "node-b" not in nodes:
            break
        if elapsed > timing.ttl * 3 + 5:
            say(render_table(("time", "sessions", "on node-b", "live nodes"), rows))
            say("   node-b's sessions did not expire in time!")
            return False
        await asyncio.sleep(timing.interval / 2)
    say(render_table(("time", "sessions", "on node-b", "live nodes"), rows))
    survivors = {s.session_id for s in sessions}
    say(f"   node-b's sessions expired after {elapsed:.1f} s; the others are untouched:")
    say(sessions_table(sessions) + "\n")
    return survivors == before


async def clear_namespace(store: SessionKVStore, namespace: str | None) -> int:
    """Delete every key of the demo's own namespace (``None``: the user's namespace, left alone); how many.

    Deleting through the store removes what it kept to serve them (directory indexes) too.
    """
    if namespace is None:
        return 0
    keys = await store.keys("")
    if keys:
        await store.delete(keys)
    await store.keys("")  # a listing prunes what an index still names (memcached)
    return len(keys)


async def _is_gone(registry: SessionRegistry, call_id: str, session_id: str) -> bool:
    return await registry.get(call_id, session_id) is None


async def wait_until(check: Callable[[], Awaitable[bool]], within: float) -> bool:
    """Poll the async ``check`` every 50 ms until it is true; ``False`` after ``within`` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await check():
            return True
        await asyncio.sleep(0.05)
    return False


async def run_worker(url: str, node_id: str, timing: DemoTiming, namespace: str | None) -> int:
    """One demo node as its own process: runs its sessions until SIGTERM (clean) or SIGKILL (crash)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    events: list[str] = []
    store = open_store(url, **({"namespace": namespace} if namespace else {}))
    async with store, SessionNode(store, node_id=node_id, ttl=timing.ttl, maintenance_interval=timing.interval) as node:
        for call_id, session_id in session_ids(node_id):
            await node.start_session(call_id, session_id, demo_session(node, call_id, session_id, events))
        print("ready", flush=True)
        while not stop.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=0.05)
            while events:
                print(events.pop(0), flush=True)
    return 0
