"""Serve the HTTP operator API (list, inspect, close sessions; /health) for a store (needs sessionkv[http])."""

from __future__ import annotations

import argparse
import contextlib
import signal
import socket
import sys
import threading
from collections.abc import Iterator

from ..registry import SessionNode
from ..registry.registry import default_node_id
from ..url import redact
from .arguments import port_number, positive_seconds

INSTALL_HINT = 'pip install "sessionkv[http]"'


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("url", help="store URL, e.g. redis://localhost:6379/0")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument(
        "--port", type=port_number, default=8080, help="port to listen on; 0 picks a free one (default: 8080)"
    )
    parser.add_argument("--node-id", help="this server's node id (default: serve-HOST-PID-RANDOM)")
    parser.add_argument(
        "--ttl", type=positive_seconds, default=30.0, help="ttl of this server's liveness record (default: 30)"
    )
    parser.add_argument(
        "--interval", type=positive_seconds, default=5.0, help="maintenance interval in seconds (default: 5)"
    )


async def run(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from ..http import create_app
    except ImportError as exc:
        print(
            f"sessionkv: error: `sessionkv serve` needs {exc.name!r}; install it with: {INSTALL_HINT}", file=sys.stderr
        )
        return 2
    node_id = args.node_id or f"serve-{default_node_id()}"
    node = SessionNode(args.url, node_id=node_id, ttl=args.ttl, maintenance_interval=args.interval)
    sock = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((args.host, args.port))
    except OSError as exc:
        sock.close()
        print(f"sessionkv: error: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 2
    sock.listen(2048)  # connections queue from now on, so the address printed below answers at once
    host, port = sock.getsockname()[:2]
    async with node:
        config = uvicorn.Config(
            create_app(node.registry, node=node), log_level="warning", lifespan="off", timeout_graceful_shutdown=5
        )
        server = uvicorn.Server(config)
        where = f"[{host}]" if ":" in host else host
        print(f"serving {redact(args.url)} on http://{where}:{port} as node {node_id!r}", flush=True)
        with _sigterm_is_a_clean_exit():
            await server.serve(sockets=[sock])
    return 0


@contextlib.contextmanager
def _sigterm_is_a_clean_exit() -> Iterator[None]:
    """uvicorn re-raises the SIGTERM it handled once it has shut down; make that a no-op, so we exit 0."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: None)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
