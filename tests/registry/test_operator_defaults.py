"""Safe defaults of the operator commands (issue 28): a named token variable must hold a token, unknown routes
answer JSON, a closed stdout (``| head``) ends quietly, and ``--timeout`` bounds a command on a frozen server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from servers.process import ServerProcess
from sessionkv.cli import main
from sessionkv.cli.output import EXIT_BROKEN_PIPE

TOKEN = "defaults-t0ken"
SERVE = [sys.executable, "-m", "sessionkv.cli", "serve", "memory://", "--port", "0"]


def _env(**extra: str) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("SESSIONKV_API_TOKEN", "SKV_NAMED_TOKEN")} | extra


@pytest.mark.parametrize("value", [None, "", "   "])
def test_a_named_token_variable_unset_or_empty_refuses_to_start(value: str | None) -> None:
    env = _env() if value is None else _env(SKV_NAMED_TOKEN=value)
    done = subprocess.run(
        [*SERVE, "--token-env", "SKV_NAMED_TOKEN"], capture_output=True, text=True, timeout=30, env=env
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and "refusing to serve" in done.stderr and "SKV_NAMED_TOKEN" in done.stderr
    assert ("not set" if value is None else "empty") in done.stderr


@contextmanager
def serve(env: dict[str, str]) -> Iterator[str]:
    proc = subprocess.Popen(SERVE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "serving" in line, line
        yield line.rsplit(" on ", 1)[1].split()[0]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=20)


def _answer(url: str, method: str = "GET", token: str | None = TOKEN) -> tuple[int, str, Any]:
    req = urllib.request.Request(url, method=method)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            return response.status, response.headers["content-type"], json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["content-type"], json.loads(exc.read())


def test_unknown_routes_and_methods_answer_json() -> None:
    with serve(_env(SESSIONKV_API_TOKEN=TOKEN)) as base:
        status, kind, body = _answer(f"{base}/no/such/route")
        assert (status, kind) == (404, "application/json") and "no such route" in body["error"]
        status, kind, body = _answer(f"{base}/health", method="POST")
        assert (status, kind) == (405, "application/json") and "POST /health" in body["error"]
        assert _answer(f"{base}/no/such/route", token=None)[0] == 401  # the token first, as on every route


def test_a_named_token_variable_is_the_one_read() -> None:
    env = _env(SKV_NAMED_TOKEN=TOKEN, SESSIONKV_API_TOKEN="not-this-one")
    proc = subprocess.Popen(
        [*SERVE, "--token-env", "SKV_NAMED_TOKEN"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "(bearer token required)" in line, line
        base = line.rsplit(" on ", 1)[1].split()[0]
        assert _answer(f"{base}/nodes", token=None)[0] == 401
        assert _answer(f"{base}/nodes", token="not-this-one")[0] == 401
        assert _answer(f"{base}/nodes")[0] == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=20)


def _into_a_closed_pipe(argv: list[str]) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` with stdout a pipe whose reader is already gone (what ``| head`` leaves once it exits)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(argv, stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=60)
    finally:
        os.close(write_end)


@pytest.mark.parametrize(
    "argv",
    [
        [sys.executable, "-m", "sessionkv.cli", "backends", "--json"],
        [sys.executable, "-m", "sessionkv.cli", "sessions", "memory://piped", "--json"],
        [sys.executable, "-m", "sessionkv_dynamodb.table", "piped-table"],
    ],
    ids=["backends", "sessions", "dynamodb-table"],
)
def test_output_into_a_closed_pipe_ends_quietly(argv: list[str]) -> None:
    done = _into_a_closed_pipe(argv)
    assert "Traceback" not in done.stderr and "BrokenPipeError" not in done.stderr, done.stderr
    assert done.returncode == EXIT_BROKEN_PIPE
    assert "Exception ignored" not in done.stderr


@pytest.mark.parametrize(
    "command", [["sessions"], ["sessions", "--call", "c"], ["nodes"], ["close", "c", "s"]], ids=" ".join
)
def test_operator_commands_on_a_frozen_redis_fail_at_their_timeout(
    command: list[str], redis_process: Callable[..., ServerProcess], capsys: pytest.CaptureFixture[str]
) -> None:
    server = redis_process()
    assert server.pid is not None
    url = f"redis://{server.host}:{server.port}/0"
    os.kill(server.pid, signal.SIGSTOP)  # its port still accepts connections, and nothing answers
    try:
        argv = [command[0], url, *command[1:], "--timeout", "0.5"]
        assert main(argv) == 2
    finally:
        os.kill(server.pid, signal.SIGCONT)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{url} did not answer within 0.5 s (--timeout)" in err, err


def test_timeout_must_be_positive(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["nodes", "memory://x", "--timeout", "0"])
    assert exited.value.code == 2 and "--timeout" in capsys.readouterr().err
