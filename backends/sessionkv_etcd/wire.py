"""The etcd v3 JSON gateway's wire format: request bodies, key ranges and batch chunking.

The gateway speaks protobuf-as-JSON: bytes are base64 strings, int64 values (revisions, lease
IDs, TTLs) come back as strings, and fields holding their default value (``false``, ``0``, empty
lists) are left out of replies. Pure functions only; no I/O.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

T = TypeVar("T")

#: etcd's default ``--max-txn-ops``: operations (compares and requests, nested ones included) per txn.
MAX_TXN_OPS = 128
#: Payload bytes (keys + values) per txn: well under etcd's default 1.5 MiB ``--max-request-bytes``,
#: while one item of the largest declared key and value still fits alone.
MAX_TXN_BYTES = 1024 * 1024 + 256 * 1024
#: Keys per page when listing.
PAGE_SIZE = 1000


def b64(data: bytes) -> str:
    """``data`` as the gateway's base64 text."""
    return base64.b64encode(data).decode("ascii")


def unb64(text: str | None) -> bytes:
    """The bytes of a gateway base64 field (absent means empty)."""
    return base64.b64decode(text) if text else b""


def prefix_range_end(prefix: bytes) -> bytes:
    """The ``range_end`` that makes ``[prefix, range_end)`` exactly the keys starting with ``prefix``.

    The last byte below 0xff is incremented and what follows it dropped (``b"a\\xff"`` -> ``b"b"``);
    an empty prefix or one of only 0xff bytes has no upper bound, spelled ``b"\\0"`` (every key >= key).
    """
    stripped = prefix.rstrip(b"\xff")
    if not stripped:
        return b"\0"
    return stripped[:-1] + bytes([stripped[-1] + 1])


def range_request(
    key: bytes, *, range_end: bytes | None = None, keys_only: bool = False, limit: int = 0
) -> dict[str, Any]:
    """A RangeRequest body: one key, or ``[key, range_end)``."""
    body: dict[str, Any] = {"key": b64(key)}
    if range_end is not None:
        body["range_end"] = b64(range_end)
    if keys_only:
        body["keys_only"] = True
    if limit:
        body["limit"] = limit
    return body


def put_request(key: bytes, value: bytes, lease: int) -> dict[str, Any]:
    """A PutRequest body attaching ``key`` to ``lease``."""
    return {"key": b64(key), "value": b64(value), "lease": str(lease)}


def move_to_lease_request(key: bytes, lease: int) -> dict[str, Any]:
    """A PutRequest body that keeps the value and only moves ``key`` onto ``lease`` (errors if missing)."""
    return {"key": b64(key), "ignore_value": True, "lease": str(lease)}


def exists_compare(key: bytes) -> dict[str, Any]:
    """A Compare that holds when ``key`` exists (``create_revision > 0``; expired keys are deleted)."""
    return {"key": b64(key), "target": "CREATE", "result": "GREATER", "create_revision": "0"}


def absent_compare(key: bytes) -> dict[str, Any]:
    """A Compare that holds when ``key`` does not exist (``create_revision == 0``; expired keys are deleted)."""
    return {"key": b64(key), "target": "CREATE", "result": "EQUAL", "create_revision": "0"}


def version_compare(key: bytes, mod_revision: int) -> dict[str, Any]:
    """A Compare that holds when ``key``'s last write was at ``mod_revision`` (a missing key's is 0)."""
    return {"key": b64(key), "target": "MOD", "result": "EQUAL", "mod_revision": str(mod_revision)}


def delete_request(key: bytes) -> dict[str, Any]:
    """A DeleteRangeRequest body for one key."""
    return {"key": b64(key)}


def txn_outcome(reply: dict[str, Any]) -> tuple[bool, int]:
    """Whether a TxnResponse's compares held, and the store revision it saw (after its writes, if any)."""
    return bool(reply.get("succeeded")), int(reply.get("header", {}).get("revision", 0))


def guarded_txn_op(key: bytes, then: dict[str, Any]) -> dict[str, Any]:
    """A nested-txn RequestOp: apply ``then`` (a RequestOp) only if ``key`` exists. Counts as 2 txn ops."""
    return {"request_txn": {"compare": [exists_compare(key)], "success": [then]}}


def txn_body(ops: Sequence[dict[str, Any]], compare: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    """A TxnRequest body running ``ops`` (RequestOps) when every ``compare`` holds."""
    body: dict[str, Any] = {"success": list(ops)}
    if compare:
        body["compare"] = list(compare)
    return body


def kvs_of(range_response: dict[str, Any]) -> list[dict[str, Any]]:
    """The KeyValues of a RangeResponse (absent when nothing matched)."""
    kvs: list[dict[str, Any]] = range_response.get("kvs", [])
    return kvs


def chunks(items: Sequence[T], *, ops_each: int = 1, size: Sequence[int] | None = None) -> Iterator[list[T]]:
    """Split ``items`` into txn-sized runs: at most ``MAX_TXN_OPS`` ops and ``MAX_TXN_BYTES`` of payload each.

    ``ops_each`` is how many txn ops one item costs; ``size[i]`` the payload bytes of ``items[i]``.
    An item larger than ``MAX_TXN_BYTES`` still gets a chunk of its own (the server then refuses it).
    """
    per_chunk = max(1, MAX_TXN_OPS // ops_each)
    current: list[T] = []
    current_bytes = 0
    for i, item in enumerate(items):
        item_bytes = size[i] if size is not None else 0
        if current and (len(current) >= per_chunk or current_bytes + item_bytes > MAX_TXN_BYTES):
            yield current
            current, current_bytes = [], 0
        current.append(item)
        current_bytes += item_bytes
    if current:
        yield current
