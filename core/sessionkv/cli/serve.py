"""Serve the HTTP operator API (list, inspect, close sessions; /health) for a store (needs sessionkv[http]).

Authentication: a bearer token read from the environment variable ``SESSIONKV_API_TOKEN`` (or the
one named by ``--token-env``) or from ``--token-file``; never from the command line, which ``ps``
shows. Without a token it serves loopback addresses only, unless ``--no-auth`` says so on purpose.
TLS: ``--ssl-certfile`` and ``--ssl-keyfile`` (uvicorn's).

The server is a ``SessionNode`` of its own (id ``serve-HOST-PID-RANDOM`` or ``--node-id``) owning no
session: ``sessionkv nodes`` and ``GET /nodes`` list it with 0 sessions while it runs, and its
maintenance loop is what ``/health`` reports as stale. Its record goes when it stops.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import os
import signal
import socket
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

from .. import telemetry
from ..errors import ConfigurationError
from ..registry import SessionNode
from ..registry.registry import default_node_id
from ..url import redact
from .arguments import port_number, positive_seconds

INSTALL_HINT = 'pip install "sessionkv[http]"'
#: Where the bearer token is read from by default.
TOKEN_ENV = "SESSIONKV_API_TOKEN"


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
    auth = parser.add_argument_group("authentication and TLS")
    auth.add_argument(
        "--token-env",
        metavar="NAME",
        help=f"environment variable holding the bearer token (default: {TOKEN_ENV}); named, it must be set",
    )
    auth.add_argument("--token-file", metavar="PATH", help="file holding the bearer token (first line)")
    auth.add_argument(
        "--no-auth", action="store_true", help="serve without a token even on a non-loopback address (not advised)"
    )
    auth.add_argument("--ssl-certfile", metavar="PATH", help="TLS certificate (PEM); serves https")
    auth.add_argument("--ssl-keyfile", metavar="PATH", help="TLS private key (PEM)")


def read_token(args: argparse.Namespace) -> str | None:
    """The bearer token from ``--token-file`` or the environment variable; ``ConfigurationError`` if unusable.

    ``--token-env NAME`` asks for authentication: ``NAME`` unset or empty is an error, never an open server.
    Only the default variable (``SESSIONKV_API_TOKEN``) may be absent (then loopback only, see ``run``).
    """
    if args.token_file:
        try:
            text = Path(args.token_file).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigurationError(f"cannot read --token-file {args.token_file}: {exc.strerror}") from None
        token = text.strip().splitlines()[0].strip() if text.strip() else ""
        if not token:
            raise ConfigurationError(f"--token-file {args.token_file} is empty")
        return token
    value = os.environ.get(args.token_env or TOKEN_ENV, "").strip()
    if not value and args.token_env:
        state = "empty" if args.token_env in os.environ else "not set"
        raise ConfigurationError(
            f"refusing to serve without the token named by --token-env: environment variable {args.token_env} is "
            f"{state}"
        )
    return value or None


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def run(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from ..http import create_app
        from ..http.metrics import prometheus_metrics
    except ImportError as exc:
        print(
            f"sessionkv: error: `sessionkv serve` needs {exc.name!r}; install it with: {INSTALL_HINT}", file=sys.stderr
        )
        return 2
    token = read_token(args)
    if token is None and not is_loopback(args.host) and not args.no_auth:
        raise ConfigurationError(
            f"refusing to serve {args.host} without authentication: set {args.token_env or TOKEN_ENV} "
            "(or --token-file), or pass --no-auth to serve it open on purpose"
        )
    if bool(args.ssl_certfile) != bool(args.ssl_keyfile):
        raise ConfigurationError("TLS needs both --ssl-certfile and --ssl-keyfile")
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
    metrics = prometheus_metrics()
    if metrics is not None:  # this process's store calls, registry and node, for GET /metrics
        telemetry.configure(meter_provider=metrics.provider)
    async with node:
        config = uvicorn.Config(
            create_app(node.registry, node=node, token=token, metrics=metrics),
            log_level="warning",
            lifespan="off",
            timeout_graceful_shutdown=5,
            ssl_certfile=args.ssl_certfile,
            ssl_keyfile=args.ssl_keyfile,
        )
        server = uvicorn.Server(config)
        where = f"[{host}]" if ":" in host else host
        scheme = "https" if args.ssl_certfile else "http"
        auth = "bearer token required" if token else "NO authentication"
        print(f"serving {redact(args.url)} on {scheme}://{where}:{port} as node {node_id!r} ({auth})", flush=True)
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
