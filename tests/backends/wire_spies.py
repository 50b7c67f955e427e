"""Spies on what a store sends to its server, shared by the backend tests that count round trips.

Each wraps the one method every request goes through (the real request still reaches the server), so a
test asserts costs by counting, never by timing.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from sessionkv_etcd.gateway import Gateway
from sessionkv_memcached.protocol import Pipeline


class Requests:
    """Every v3 request an etcd store sends (``Gateway.call``): path and body; ``txn`` is set once a txn goes out."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.txn = asyncio.Event()

    def paths(self) -> list[str]:
        return [path for path, _ in self.sent]

    def txn_sizes(self) -> list[int]:
        return [len(body["success"]) for path, body in self.sent if path == "/kv/txn"]


def record_requests(monkeypatch: pytest.MonkeyPatch) -> Requests:
    """Install a ``Requests`` spy on ``Gateway.call`` for the test (undone by ``monkeypatch``)."""
    spy = Requests()
    original = Gateway.call

    async def recording(self: Gateway, path: str, body: dict[str, Any], **options: Any) -> dict[str, Any]:
        spy.sent.append((path, body))
        if path == "/kv/txn":
            spy.txn.set()
        return await original(self, path, body, **options)

    monkeypatch.setattr(Gateway, "call", recording)
    return spy


class Pipelines:
    """memcached pipelines sent (round trips) and their command words; ``second`` is set once a second goes out."""

    def __init__(self) -> None:
        self.runs = 0
        self.commands: list[bytes] = []
        self.second = asyncio.Event()

    def reset(self) -> None:
        self.runs, self.commands = 0, []
        self.second.clear()


def record_pipelines(monkeypatch: pytest.MonkeyPatch) -> Pipelines:
    """Install a ``Pipelines`` spy on ``Pipeline.run`` for the test (undone by ``monkeypatch``)."""
    spy = Pipelines()
    original = Pipeline.run

    async def run(self: Pipeline, conn: Any) -> list[object]:
        if len(self):
            spy.runs += 1
            spy.commands += [chunk.split(b" ", 1)[0] for chunk in self._buffer]
            if spy.runs == 2:
                spy.second.set()
        return await original(self, conn)

    monkeypatch.setattr(Pipeline, "run", run)
    return spy
