"""Throwaway etcd processes (one member, or a cluster) on loopback ports; no pytest, so bench/ can use it too.

Test members run with fast raft timers (``--heartbeat-interval 10 --election-timeout 100``), which
only makes leader elections quicker; the store's declared min_ttl (2 s) holds for default timers too.
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .process import ServerProcess, find_binary, free_port, tcp_accepts, wait_for_cluster

FAST_RAFT = ("--heartbeat-interval", "10", "--election-timeout", "100")


def etcd_argv(
    name: str, client_port: int, peer_port: int, workdir: Path, cluster: str, extra: Sequence[str] = ()
) -> list[str]:
    """The command line of one member: data in ``workdir``, client and peer URLs on 127.0.0.1."""
    binary = find_binary("etcd") or "etcd"
    scheme = "https" if "--cert-file" in extra else "http"
    client_url = f"{scheme}://127.0.0.1:{client_port}"
    return [
        binary,
        "--name",
        name,
        "--data-dir",
        str(workdir / f"{name}.etcd"),
        "--listen-client-urls",
        client_url,
        "--advertise-client-urls",
        client_url,
        "--listen-peer-urls",
        f"http://127.0.0.1:{peer_port}",
        "--initial-advertise-peer-urls",
        f"http://127.0.0.1:{peer_port}",
        "--initial-cluster",
        cluster,
        "--initial-cluster-token",  # the same for every member: it seeds the cluster ID
        f"sessionkv-{zlib.crc32(cluster.encode()):08x}",
        "--log-level",
        "warn",
        *extra,
    ]


def gateway(server: ServerProcess, path: str, body: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
    """POST ``body`` (GET when None) to ``path`` on a member's client port and return the JSON reply."""
    context: ssl.SSLContext | None = kwargs.pop("context", None)
    scheme = "https" if context is not None else "http"
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json", **kwargs.pop("headers", {})}
    request = urllib.request.Request(f"{scheme}://{server.host}:{server.port}{path}", data=data, headers=headers)
    with urllib.request.urlopen(request, timeout=kwargs.pop("timeout", 2.0), context=context) as reply:
        result: dict[str, Any] = json.loads(reply.read())
        return result


def etcd_healthy(server: ServerProcess, context: ssl.SSLContext | None = None) -> bool:
    """True once the member answers ``/health`` with a leader elected."""
    try:
        return gateway(server, "/health", context=context, timeout=0.5).get("health") == "true"
    except (OSError, ValueError, urllib.error.URLError):
        return False


def start_etcd(
    *extra: str, port: int | None = None, workdir: Path | None = None, fast_raft: bool = True, wait: bool = True
) -> ServerProcess:
    """Start a one-member etcd (extra CLI arguments appended) and wait until it is healthy.

    With TLS arguments (``--cert-file``...) readiness is only "the port accepts connections".
    """
    peer = free_port()
    args = (*FAST_RAFT, *extra) if fast_raft else tuple(extra)

    def command(client_port: int, directory: Path) -> list[str]:
        return etcd_argv("n1", client_port, peer, directory, f"n1=http://127.0.0.1:{peer}", args)

    tls = "--cert-file" in extra
    ready = (lambda s: tcp_accepts(s.host, s.port)) if tls or not wait else etcd_healthy
    return ServerProcess("etcd", command, ready=ready, port=port, workdir=workdir).start()


def start_etcd_cluster(members: int = 3, timeout: float = 30.0) -> list[ServerProcess]:
    """Start ``members`` members forming one cluster and wait until every one reports a leader."""
    clients = [free_port() for _ in range(members)]
    peers = [free_port() for _ in range(members)]
    cluster = ",".join(f"m{i}=http://127.0.0.1:{peers[i]}" for i in range(members))
    nodes: list[ServerProcess] = []
    try:
        for i in range(members):

            def command(client_port: int, directory: Path, i: int = i) -> list[str]:
                return etcd_argv(f"m{i}", client_port, peers[i], directory, cluster, FAST_RAFT)

            # A member alone has no quorum: wait only for its port, then for the whole cluster's health.
            member = ServerProcess(f"etcd-m{i}", command, ready=lambda s: tcp_accepts(s.host, s.port), port=clients[i])
            nodes.append(member.start())
        wait_for_cluster(nodes, etcd_healthy, "etcd cluster", timeout)
        return nodes
    except BaseException:
        for node in nodes:
            node.cleanup()
        raise


def enable_auth(server: ServerProcess, password: str) -> None:
    """Create user ``root`` with ``password`` and the root role, then turn etcd authentication on."""
    gateway(server, "/v3/auth/user/add", {"name": "root", "password": password})
    gateway(server, "/v3/auth/role/add", {"name": "root"})
    gateway(server, "/v3/auth/user/grant", {"user": "root", "role": "root"})
    gateway(server, "/v3/auth/enable", {})


def lease_count(server: ServerProcess, headers: dict[str, str] | None = None) -> int:
    """How many leases the cluster holds right now (``/v3/kv/lease/leases``)."""
    return len(gateway(server, "/v3/kv/lease/leases", {}, headers=headers or {}).get("leases", []))
