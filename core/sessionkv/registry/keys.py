"""The registry's key scheme: ids are percent-encoded so no id can reach into another's keys.

Every key lives inside the store's namespace (``sessionkv:`` by default)::

    s/{<call>}/<session>   the SessionInfo record (JSON), ttl = 10 x registry ttl, refreshed in rolling slices
    c/{<call>}/<session>   a close request for that session (set by any node, read by the owner)
    n/<node>               a node's liveness record (JSON), ttl = registry ttl, moved by each heartbeat: the lease
    a/{<call>}/<i>         admission slot i (0 <= i < max_per_call) of a call, taken with ``add`` by a session
                           registered with ``max_per_call``; lives and is refreshed with that session's record

``<call>``, ``<session>`` and ``<node>`` are the ids percent-encoded with nothing left "safe"
(``urllib.parse.quote(id, safe="")``): ``/``, ``%``, ``{``, ``}``, ``*``, ``?``, spaces and
non-ASCII characters all become ``%XX`` escapes, so an encoded id never contains ``/`` or a brace.
Hence ``s/{<call>}/`` is an exact prefix: ``keys("s/{<call>}/")`` returns that call's sessions and
no other call's, whatever characters either id holds (no separator or glob injection).

The braces make ``{<call>}`` a Redis Cluster hash tag, complete and non-empty (an id is never
empty): a call's records, its close requests, its admission slots and their directories' indexes share one slot, so
listing a call reads that call's index instead of scanning every node (sessionkv_redis/index.py).
Other backends see plain characters.
"""

from __future__ import annotations

from urllib.parse import quote, unquote

SESSION_PREFIX = "s/"
CLOSE_PREFIX = "c/"
SLOT_PREFIX = "a/"
NODE_PREFIX = "n/"


def encode_id(value: str, what: str = "id") -> str:
    """Percent-encode one id for use as a key segment; refuses non-str and empty ids."""
    if not isinstance(value, str):
        raise TypeError(f"{what} must be str, not {type(value).__name__}")
    if not value:
        raise ValueError(f"{what} must be a non-empty string")
    try:
        return quote(value, safe="", encoding="utf-8", errors="strict")
    except UnicodeEncodeError as exc:
        raise ValueError(f"{what} is not valid Unicode text: {exc.reason}") from None


def decode_id(segment: str) -> str:
    """The id a key segment encodes (inverse of ``encode_id``)."""
    return unquote(segment, encoding="utf-8", errors="strict")


def _call_segment(call_id: str) -> str:
    """``{<encoded call>}``: the call's key segment, a Redis Cluster hash tag."""
    return "{" + encode_id(call_id, "call_id") + "}"


def session_key(call_id: str, session_id: str) -> str:
    """Key of a session's record."""
    return f"{SESSION_PREFIX}{_call_segment(call_id)}/{encode_id(session_id, 'session_id')}"


def close_key(call_id: str, session_id: str) -> str:
    """Key of a session's close request (same hash tag as the record)."""
    return f"{CLOSE_PREFIX}{_call_segment(call_id)}/{encode_id(session_id, 'session_id')}"


def slot_key(call_id: str, index: int) -> str:
    """Key of admission slot ``index`` of a call (same hash tag as the call's records)."""
    return f"{SLOT_PREFIX}{_call_segment(call_id)}/{index}"


def call_prefix(call_id: str) -> str:
    """Exact, injection-free prefix of every session record of one call (a directory with the call's tag)."""
    return f"{SESSION_PREFIX}{_call_segment(call_id)}/"


def node_key(node_id: str) -> str:
    """Key of a node's liveness record."""
    return f"{NODE_PREFIX}{encode_id(node_id, 'node_id')}"


def parse_session_key(key: str) -> tuple[str, str] | None:
    """``(call_id, session_id)`` of a session record key, or ``None`` if it is not one."""
    if not key.startswith(SESSION_PREFIX):
        return None
    parts = key[len(SESSION_PREFIX) :].split("/")
    if len(parts) != 2 or not parts[1]:
        return None
    call = parts[0]
    if len(call) < 3 or call[0] != "{" or call[-1] != "}":
        return None
    try:
        return decode_id(call[1:-1]), decode_id(parts[1])
    except UnicodeDecodeError:
        return None
