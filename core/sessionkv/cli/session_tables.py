"""Operator tables of sessions and nodes, shared by the CLI, the demo and the HTTP app's clients."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from ..registry import NodeInfo, SessionInfo
from .table import render_table

SESSION_HEADERS = ("call", "session", "node", "age", "metrics", "metadata")
NODE_HEADERS = ("node", "sessions", "up", "last heartbeat")


def ago(then: float | None, now: float) -> str:
    """``then`` as a short age: ``"4.2s"``, ``"3m10s"``, ``"-"`` for never."""
    if then is None:
        return "-"
    seconds = max(0.0, now - then)
    if seconds < 60:
        return f"{seconds:.1f}s"
    if seconds < 3600:
        return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"
    return f"{int(seconds // 3600)}h{int(seconds % 3600 // 60):02d}m"


def compact(data: dict[str, Any]) -> str:
    """A dict as short JSON for a table cell (empty: blank)."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False, sort_keys=True) if data else ""


def sessions_table(sessions: Sequence[SessionInfo], now: float | None = None) -> str:
    """One row per session: call, session, owning node, age, metrics, metadata."""
    now = time.time() if now is None else now
    rows = [
        (s.call_id, s.session_id, s.node_id, ago(s.started_at, now), compact(s.metrics), compact(s.metadata))
        for s in sessions
    ]
    return render_table(SESSION_HEADERS, rows)


def nodes_table(nodes: Sequence[NodeInfo], now: float | None = None) -> str:
    """One row per live node: id, session count, uptime, time since its last heartbeat."""
    now = time.time() if now is None else now
    rows = [(n.node_id, n.sessions, ago(n.started_at, now), f"{ago(n.last_heartbeat, now)} ago") for n in nodes]
    return render_table(NODE_HEADERS, rows)
