"""``SessionInfo`` and ``NodeInfo`` records and their JSON codec.

Records read from the store are untrusted: decoding checks every field's type, ignores unknown
fields (so newer writers stay readable) and raises ``ValueError`` on anything malformed, which
the registry logs and skips.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any


@dataclass
class SessionInfo:
    """One live session: where it runs, since when, and its latest metrics and metadata."""

    session_id: str
    call_id: str
    node_id: str
    started_at: float
    metrics_updated_at: float | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field."""
        return {
            "session_id": self.session_id,
            "call_id": self.call_id,
            "node_id": self.node_id,
            "started_at": self.started_at,
            "metrics_updated_at": self.metrics_updated_at,
            "metrics": self.metrics,
            "metadata": self.metadata,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SessionInfo:
        """Build from a plain dict, as the published API does: unknown keys ignored, a missing one a TypeError."""
        known = {f.name for f in fields(cls)}
        return cls(**{name: value for name, value in data.items() if name in known})

    def encode(self) -> bytes:
        """Compact UTF-8 JSON; ``TypeError``/``ValueError`` if metrics or metadata are not JSON."""
        return dump_json(self.to_dict())

    @classmethod
    def decode(cls, raw: bytes) -> SessionInfo:
        """Parse a stored record; ``ValueError`` if it is not a valid session record."""
        return cls.from_record(load_object(raw))

    @classmethod
    def from_record(cls, data: dict[str, Any]) -> SessionInfo:
        """Check and build from a parsed (untrusted) record; ``ValueError`` if a field is malformed."""
        return cls(
            session_id=_text(data, "session_id"),
            call_id=_text(data, "call_id"),
            node_id=_text(data, "node_id"),
            started_at=_number(data, "started_at"),
            metrics_updated_at=_optional_number(data, "metrics_updated_at"),
            metrics=_mapping(data, "metrics"),
            metadata=_mapping(data, "metadata"),
        )


@dataclass
class NodeInfo:
    """A live node's liveness record: its ttl is the registry's, moved by every heartbeat.

    ``last_heartbeat`` is when the record was last written: at start, at every heartbeat, and
    whenever the session count changes; ``incarnation`` is random per registry object, so records of a crashed
    process are never revived by a new process that reuses its node id. ``sessions`` is the node's
    load and ``capacity`` its ``max_sessions`` (``None``: unbounded), so placement reads the node
    records alone.
    """

    node_id: str
    sessions: int
    started_at: float
    last_heartbeat: float
    incarnation: str | None = None
    capacity: int | None = None

    @property
    def free(self) -> float:
        """Sessions this node can still take: ``capacity - sessions`` (at least 0), infinite if unbounded."""
        return math.inf if self.capacity is None else max(self.capacity - self.sessions, 0)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field."""
        return {
            "node_id": self.node_id,
            "sessions": self.sessions,
            "started_at": self.started_at,
            "last_heartbeat": self.last_heartbeat,
            "incarnation": self.incarnation,
            "capacity": self.capacity,
        }

    def encode(self) -> bytes:
        """Compact UTF-8 JSON."""
        return dump_json(self.to_dict())

    @classmethod
    def decode(cls, raw: bytes) -> NodeInfo:
        """Parse a stored node record; ``ValueError`` if it is not valid."""
        data = load_object(raw)
        capacity = data.get("capacity")
        return cls(
            node_id=_text(data, "node_id"),
            sessions=_count(data, "sessions"),
            started_at=_number(data, "started_at"),
            last_heartbeat=_number(data, "last_heartbeat"),
            incarnation=_optional_text(data, "incarnation"),
            capacity=None if capacity is None else _count(data, "capacity"),
        )


def dump_json(data: dict[str, Any]) -> bytes:
    """Strict compact JSON (no NaN/infinity, which other languages cannot read)."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def load_object(raw: bytes) -> dict[str, Any]:
    """Parse ``raw`` as a JSON object; ``ValueError`` for anything else."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ValueError(f"not UTF-8 JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"expected a JSON object, got {type(data).__name__}")
    return data


def _count(data: dict[str, Any], name: str) -> int:
    value = data.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"field {name!r} must be a non-negative integer")
    return value


def _text(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value:
        raise ValueError(f"field {name!r} must be a non-empty string")
    return value


def _optional_text(data: dict[str, Any], name: str) -> str | None:
    return None if data.get(name) is None else _text(data, name)


def _number(data: dict[str, Any], name: str) -> float:
    value = data.get(name)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"field {name!r} must be a finite number")
    return float(value)


def _optional_number(data: dict[str, Any], name: str) -> float | None:
    return None if data.get(name) is None else _number(data, name)


def _mapping(data: dict[str, Any], name: str) -> dict[str, Any]:
    value = data.get(name, {})
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"field {name!r} must be a JSON object")
    return value
