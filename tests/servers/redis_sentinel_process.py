"""A throwaway Sentinel group: one primary, one replica and three sentinels (``redis-server CONF --sentinel``).

No pytest, so bench/ can use it too. Every process listens on a free loopback port with its own temp dir
and is stopped by its PID; ``SentinelGroup.kill_primary`` SIGKILLs the primary for failover tests.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .process import ServerProcess, ServerStartError, find_binary, tcp_exchange
from .redis_process import redis_answers, redis_binary, start_redis

SERVICE = "mymaster"


def sentinel_argv(
    port: int, workdir: Path, primary_port: int, down_after_ms: int, failover_timeout_ms: int, extra: Sequence[str]
) -> list[str]:
    """Write this sentinel's config (sentinels rewrite it: one file each) and return its command line."""
    conf = workdir / f"sentinel-{port}.conf"
    conf.write_text(
        f"port {port}\nbind 127.0.0.1\ndir {workdir}\n"
        f"sentinel monitor {SERVICE} 127.0.0.1 {primary_port} 2\n"
        f"sentinel down-after-milliseconds {SERVICE} {down_after_ms}\n"
        f"sentinel failover-timeout {SERVICE} {failover_timeout_ms}\n"
        f"sentinel parallel-syncs {SERVICE} 1\n" + "".join(f"{line}\n" for line in extra)
    )
    return [redis_binary(), str(conf), "--sentinel"]


def ask(host: str, port: int, command: bytes, password: str | None = None) -> bytes:
    """Send ``command`` (after ``AUTH password`` when given) and return the raw reply bytes."""
    auth = f"AUTH {password}\r\n".encode() if password else b""
    return tcp_exchange(host, port, auth + command)


def info_field(host: str, port: int, command: bytes, name: bytes, password: str | None = None) -> bytes | None:
    """One ``name:value`` field of an INFO-like reply (``None`` when absent or the server is down)."""
    for line in ask(host, port, command, password).splitlines():
        if line.startswith(name + b":"):
            return line.split(b":", 1)[1].strip()
    return None


def primary_of(sentinel: ServerProcess, password: str | None = None) -> tuple[str, int] | None:
    """The primary's address as ``sentinel`` reports it now, or ``None``."""
    command = f"SENTINEL get-master-addr-by-name {SERVICE}\r\n".encode()
    reply = ask(sentinel.host, sentinel.port, command, password)
    parts = [line for line in reply.split(b"\r\n") if line and not line.startswith((b"*", b"$", b"+OK"))]
    if len(parts) != 2 or not parts[1].isdigit():
        return None
    return parts[0].decode(), int(parts[1])


def sentinel_ready(sentinel: ServerProcess, sentinels: int, replicas: int, password: str | None = None) -> bool:
    """True once ``sentinel`` sees the primary up, ``replicas`` replicas and the other ``sentinels - 1`` sentinels."""
    status = info_field(sentinel.host, sentinel.port, b"INFO sentinel\r\n", b"master0", password)
    if status is None or b"status=ok" not in status:
        return False
    return f"slaves={replicas},sentinels={sentinels}".encode() in status


@dataclass
class SentinelGroup:
    """The processes of one group; ``url`` is its ``redis+sentinel://`` URL (database 0)."""

    primary: ServerProcess
    replicas: list[ServerProcess]
    sentinels: list[ServerProcess]
    extra_query: str = ""
    #: The sentinels' ``requirepass``, for the probes here (the store takes it as ``sentinel_password``).
    sentinel_password: str | None = None
    killed: list[ServerProcess] = field(default_factory=list)

    @property
    def url(self) -> str:
        hosts = ",".join(f"{s.host}:{s.port}" for s in self.sentinels)
        return f"redis+sentinel://{hosts}/{SERVICE}/0{self.extra_query}"

    @property
    def processes(self) -> list[ServerProcess]:
        return [self.primary, *self.replicas, *self.sentinels]

    def data_node(self, address: tuple[str, int]) -> ServerProcess:
        """The data node (primary or replica) listening on ``address``."""
        for node in (self.primary, *self.replicas):
            if (node.host, node.port) == address:
                return node
        raise LookupError(f"no data node of this group on {address}")

    def current_primary(self) -> tuple[str, int] | None:
        """The address a majority of the running sentinels give for the primary (``None`` if no majority)."""
        answers = [primary_of(s, self.sentinel_password) for s in self.sentinels if s.running]
        for answer in answers:
            if answer is not None and answers.count(answer) * 2 > len(self.sentinels):
                return answer
        return None

    def kill_primary(self) -> ServerProcess:
        """SIGKILL the current primary by its PID (no shutdown, no final replication) and return it."""
        address = self.current_primary()
        if address is None:
            raise RuntimeError("the sentinels agree on no primary")
        node = self.data_node(address)
        pid = node.pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        node.stop()  # reaps the process
        self.killed.append(node)
        return node

    def wait_for_new_primary(self, old: tuple[str, int], timeout: float) -> tuple[tuple[str, int], float]:
        """Block until the sentinels agree on a primary other than ``old``; returns it and the seconds waited."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            address = self.current_primary()
            if address is not None and address != old:
                return address, time.monotonic() - started
            time.sleep(0.05)
        raise ServerStartError(f"no failover away from {old} within {timeout} s:\n{self.sentinels[0].log_tail()}")

    def cleanup(self) -> None:
        for process in self.processes:
            process.cleanup()


def replica_synced(replica: ServerProcess, password: str | None = None) -> bool:
    """True once ``replica`` has finished its sync with the primary."""
    return info_field(replica.host, replica.port, b"INFO replication\r\n", b"master_link_status", password) == b"up"


def start_sentinel(
    *conf: str, primary_port: int, down_after_ms: int = 1000, failover_timeout_ms: int = 3000
) -> ServerProcess:
    """One sentinel watching ``primary_port`` (up or not), with extra config lines ``conf`` (``requirepass X``).
    Alone it is enough to refuse a client's password or name an unreachable primary; a group starts three."""
    if find_binary("redis-server") is None:
        raise ServerStartError("redis-server not found (apt-get install redis-server)")
    sentinel = ServerProcess(
        "sentinel",
        lambda p, d: sentinel_argv(p, d, primary_port, down_after_ms, failover_timeout_ms, conf),
        ready=redis_answers,
    )
    return sentinel.start()


def start_sentinel_group(
    *,
    replicas: int = 1,
    sentinels: int = 3,
    down_after_ms: int = 1000,
    failover_timeout_ms: int = 3000,
    primary_args: Sequence[str] = (),
    sentinel_conf: Sequence[str] = (),
    password: str | None = None,
    sentinel_password: str | None = None,
    timeout: float = 30.0,
) -> SentinelGroup:
    """Start a primary, ``replicas`` replicas and ``sentinels`` sentinels; return once all agree and sync.

    ``primary_args`` go to every data node's command line, ``sentinel_conf`` lines to every sentinel's config
    (e.g. ``requirepass`` and ``sentinel auth-pass``); ``password``/``sentinel_password`` are what the
    readiness probes authenticate with.
    """
    if find_binary("redis-server") is None:
        raise ServerStartError("redis-server not found (apt-get install redis-server)")
    started: list[ServerProcess] = []
    try:
        primary = start_redis(*primary_args)
        started.append(primary)
        replica_nodes = []
        for _ in range(replicas):
            replica = start_redis(*primary_args, "--replicaof", primary.host, str(primary.port))
            started.append(replica)
            replica_nodes.append(replica)
        sentinel_nodes = []
        for _ in range(sentinels):
            sentinel = start_sentinel(
                *sentinel_conf,
                primary_port=primary.port,
                down_after_ms=down_after_ms,
                failover_timeout_ms=failover_timeout_ms,
            )
            started.append(sentinel)
            sentinel_nodes.append(sentinel)
        deadline = time.monotonic() + timeout
        while not (
            all(replica_synced(r, password) for r in replica_nodes)
            and all(sentinel_ready(s, sentinels, replicas, sentinel_password) for s in sentinel_nodes)
        ):
            if time.monotonic() > deadline:
                raise ServerStartError(f"sentinel group not ready after {timeout} s:\n{sentinel_nodes[0].log_tail()}")
            time.sleep(0.05)
        return SentinelGroup(primary, replica_nodes, sentinel_nodes, sentinel_password=sentinel_password)
    except BaseException:
        for process in started:
            process.cleanup()
        raise
