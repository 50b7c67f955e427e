"""Three OS processes as nodes on a real Redis: a kill -9 expires only that node's sessions; a flush heals."""

from __future__ import annotations

import asyncio
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from sessionkv import SessionRegistry

TTL = 0.6
INTERVAL = 0.2
SESSIONS = 3
NODE_SCRIPT = Path(__file__).with_name("node_process.py")

pytestmark = pytest.mark.slow


@dataclass
class NodeProcess:
    """A node process and the (monotonic read time, line) of everything it printed."""

    node_id: str
    proc: subprocess.Popen[str]
    lines: queue.Queue[tuple[float, str]] = field(default_factory=queue.Queue)
    reader: threading.Thread | None = None

    def pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put((time.monotonic(), line.strip()))

    def next_line(self, timeout: float = 20.0) -> tuple[float, str]:
        return self.lines.get(timeout=timeout)

    def beats_after(self, since: float, count: int) -> float:
        """Wait until ``count`` maintenance cycles were reported after ``since``; the last one's read time."""
        seen, read_at = 0, since
        while seen < count:
            read_at, line = self.next_line()
            if line == "maintained" and read_at > since:
                seen += 1
        return read_at

    def last_beat(self, last: float) -> float:
        """Read time of the last maintenance report (``last`` if none since); the process must have exited."""
        assert self.reader is not None
        self.reader.join(timeout=10)
        while True:
            try:
                read_at, line = self.lines.get_nowait()
            except queue.Empty:
                return last
            if line == "maintained":
                last = read_at


def start_node(url: str, node_id: str) -> NodeProcess:
    argv = [sys.executable, str(NODE_SCRIPT), url, node_id, str(SESSIONS), str(TTL), str(INTERVAL)]
    node = NodeProcess(node_id, subprocess.Popen(argv, stdout=subprocess.PIPE, text=True))
    node.reader = threading.Thread(target=node.pump, daemon=True)
    node.reader.start()
    return node


async def _sessions_by_node(url: str) -> dict[str, set[str]]:
    async with SessionRegistry(url, ttl=TTL) as observer:
        by_node: dict[str, set[str]] = {}
        for info in await observer.get_for_call("call"):
            by_node.setdefault(info.node_id, set()).add(info.session_id)
        live = {node.node_id for node in await observer.nodes()}
        assert live == set(by_node) or not by_node, (live, by_node)
        return by_node


def sessions_by_node(url: str) -> dict[str, set[str]]:
    return asyncio.run(_sessions_by_node(url))


def expected(*node_ids: str) -> dict[str, set[str]]:
    return {n: {f"{n}-s{i}" for i in range(SESSIONS)} for n in node_ids}


@pytest.fixture
def own_redis() -> Iterator[str]:
    """A Redis just for this test, so FLUSHDB touches nobody else."""
    from servers.redis import start_redis

    server = start_redis()
    try:
        yield f"redis://{server.host}:{server.port}/0"
    finally:
        server.cleanup()


def test_kill_minus_9_and_flush_across_three_processes(own_redis: str) -> None:
    import redis

    nodes = {n: start_node(own_redis, n) for n in ("node-a", "node-b", "node-c")}
    everyone = list(nodes.values())
    try:
        for node in nodes.values():
            assert node.next_line()[1] == "ready"
        assert sessions_by_node(own_redis) == expected("node-a", "node-b", "node-c")

        # kill -9: no cleanup at all. node-b's records live until ttl after its last heartbeat.
        victim = nodes.pop("node-b")
        beat = victim.beats_after(time.monotonic(), 1)
        victim.proc.kill()
        victim.proc.wait()
        # Each record's ttl was last set before its heartbeat was reported (read), so it is gone by
        # last report + ttl + the store's ttl resolution.
        time.sleep(max(0.0, victim.last_beat(beat) + TTL + 0.001 - time.monotonic()))
        assert sessions_by_node(own_redis) == expected("node-a", "node-c")

        # FLUSHDB: every record is gone; one full heartbeat of each survivor brings all of its sessions back.
        with redis.Redis.from_url(own_redis) as client:
            client.flushdb()
            assert client.dbsize() == 0
        flushed_at = time.monotonic()
        for node in nodes.values():
            # The first report after the flush may close a cycle that began before it; the second cannot.
            node.beats_after(flushed_at, 2)
        assert sessions_by_node(own_redis) == expected("node-a", "node-c")
    finally:
        for node in everyone:
            node.proc.kill()
            node.proc.wait()
