"""The operator API lets no one in without the token: `sessionkv serve` over real HTTP and HTTPS."""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from servers.tls import make_tls_files

TOKEN = "t0ken-with-$ymbols/and=padding"


@contextmanager
def serve(*extra: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """Run ``sessionkv serve memory:// --port 0 ...``; yields the base URL it prints, stops it with SIGTERM."""
    argv = [sys.executable, "-m", "sessionkv.cli", "serve", "memory://", "--port", "0", *extra]
    environment = {k: v for k, v in os.environ.items() if k != "SESSIONKV_API_TOKEN"} | (env or {})
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment)
    try:
        assert proc.stdout is not None and proc.stderr is not None
        line = proc.stdout.readline()
        assert "serving" in line, (line, proc.stderr.read() if proc.poll() is not None else "")
        assert TOKEN not in line
        yield line.rsplit(" on ", 1)[1].split()[0]
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
        assert TOKEN not in out + err


def request(url: str, *, token: str | None = None, method: str = "GET", context: Any = None, body: bytes = b"") -> int:
    """The HTTP status of one request (with ``Authorization: Bearer token`` when given)."""
    req = urllib.request.Request(url, method=method, data=body or None)
    if token is not None:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10, context=context) as response:
            json.loads(response.read())
            return int(response.status)
    except urllib.error.HTTPError as exc:
        assert TOKEN not in exc.read().decode()
        return int(exc.code)


def test_every_route_but_health_needs_the_token() -> None:
    with serve(env={"SESSIONKV_API_TOKEN": TOKEN}) as base:
        assert request(f"{base}/health") == 200
        for path in ("/sessions", "/nodes", "/sessions/c/s"):
            assert request(f"{base}{path}") == 401
            assert request(f"{base}{path}", token="wrong") == 401
            assert request(f"{base}{path}", token=TOKEN[:-1]) == 401
        assert request(f"{base}/sessions", token=TOKEN) == 200
        assert request(f"{base}/nodes", token=TOKEN) == 200
        assert request(f"{base}/sessions/c/s", token=TOKEN, method="DELETE") == 404
        assert request(f"{base}/sessions/c/s", method="DELETE") == 401
        assert request(f"{base}/sessions", token=TOKEN, method="DELETE", body=b"x" * 4096) == 413


def test_token_from_a_file(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    with serve("--token-file", str(token_file)) as base:
        assert request(f"{base}/nodes") == 401
        assert request(f"{base}/nodes", token=TOKEN) == 200


@pytest.mark.parametrize("host", ["0.0.0.0", "::"])
def test_refuses_a_non_loopback_address_without_a_token(host: str) -> None:
    argv = [sys.executable, "-m", "sessionkv.cli", "serve", "memory://", "--port", "0", "--host", host]
    env = {k: v for k, v in os.environ.items() if k != "SESSIONKV_API_TOKEN"}
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30, env=env)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and "refusing to serve" in done.stderr and "--no-auth" in done.stderr


def test_https_with_the_token(tmp_path: Path) -> None:
    tls = make_tls_files(tmp_path)
    with serve(
        "--ssl-certfile", str(tls.cert), "--ssl-keyfile", str(tls.key), env={"SESSIONKV_API_TOKEN": TOKEN}
    ) as base:
        assert base.startswith("https://")
        context = ssl.create_default_context(cafile=str(tls.ca))
        assert request(f"{base}/sessions", context=context) == 401
        assert request(f"{base}/sessions", token=TOKEN, context=context) == 200
        with pytest.raises(urllib.error.URLError):  # not trusted without the CA
            request(f"{base}/health", context=ssl.create_default_context())
