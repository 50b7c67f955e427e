"""Where a sessionkv key lives in the table: partition key = namespace + top-level directory, sort key = key.

``pk`` is ``"<len(namespace)>:<namespace><top>"`` where ``<top>`` is the key up to and including its
FIRST ``/`` (empty for keys without one); the length prefix makes namespaces disjoint even when one is
a prefix of another. ``sk`` is the whole key. So ``keys(prefix)`` for any prefix containing a ``/``
is one Query on a single partition with ``begins_with(sk, prefix)``: its cost follows the entries
it returns, and it sees keys at any depth below the prefix. Prefixes without ``/`` (and ``""``) need
a Scan of the whole table.

DynamoDB caps partition keys at 2048 bytes and sort keys at 1024: a longer ``pk`` is replaced by
``"#" + sha256`` (the item then carries its namespace in ``ns``, for scans); a key over
``SK_LITERAL_MAX`` bytes becomes its first bytes plus its sha256 (always longer than any literal
sort key, so the mapping stays one-to-one) and the item keeps the full key in ``k``. Prefixes up to
``SK_PREFIX_MAX`` bytes still match those truncated sort keys exactly.

Every write stores a fresh random ``ver`` (16 bytes): the version ``get_versioned`` hands out and
conditional writes compare (``expire``/``touch`` keep it).
"""

from __future__ import annotations

import hashlib
import math
import secrets

#: Attribute names (short: every item pays for them in its size).
PK, SK, VALUE, EXPIRES, TTL, FULL_KEY, NAMESPACE, VERSION = "pk", "sk", "v", "exp", "ttl", "k", "ns", "ver"
#: Bytes of random version token each write stores in ``ver`` (a collision takes ~2**64 writes of one key).
VERSION_SIZE = 16
#: DynamoDB's documented limits.
ITEM_LIMIT = 400 * 1024
PK_LIMIT = 2048
SK_LIMIT = 1024
#: Sort keys up to this many bytes are the key itself; longer keys are truncated and hashed.
SK_LITERAL_MAX = 960
#: A truncated sort key keeps at least this many bytes of the key (960 minus a partial UTF-8 character).
SK_PREFIX_MAX = SK_LITERAL_MAX - 3
#: Largest key accepted (UTF-8 bytes) and the largest value that then always fits in one item.
MAX_KEY_SIZE = 2048
MAX_NAMESPACE_SIZE = 1024
#: The most any number attribute takes (DynamoDB: 1 byte per 2 significant digits + 1, 38 digits max).
NUMBER_SIZE_MAX = 21
_KEY_OVERHEAD = (
    len(PK) + PK_LIMIT + len(SK) + SK_LIMIT + len(FULL_KEY) + MAX_KEY_SIZE + len(NAMESPACE) + MAX_NAMESPACE_SIZE
)
_EXPIRY_OVERHEAD = len(EXPIRES) + len(TTL) + 2 * NUMBER_SIZE_MAX + len(VERSION) + VERSION_SIZE
#: Values up to this size fit in one item whatever the key and namespace (390 KiB).
MAX_VALUE_SIZE = 390 * 1024
assert MAX_VALUE_SIZE + len(VALUE) + _KEY_OVERHEAD + _EXPIRY_OVERHEAD <= ITEM_LIMIT

Attr = dict[str, str | bytes]
Item = dict[str, Attr]


def utf8_len(text: str) -> int:
    """Size of ``text`` in UTF-8 bytes (what DynamoDB counts)."""
    return len(text) if text.isascii() else len(text.encode("utf-8"))


def truncate_utf8(text: str, limit: int) -> str:
    """The longest prefix of ``text`` that is at most ``limit`` UTF-8 bytes (never splits a character)."""
    raw = text.encode("utf-8")
    return text if len(raw) <= limit else raw[:limit].decode("utf-8", errors="ignore")


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def namespace_tag(namespace: str) -> str:
    """The start of every literal partition key of ``namespace`` (a prefix code: no other namespace's starts so)."""
    return f"{len(namespace)}:{namespace}"


def top_directory(key: str) -> str:
    """``key`` up to and including its first ``/`` (``""`` when it has none)."""
    slash = key.find("/")
    return key[: slash + 1]


def partition_key(namespace: str, top: str) -> tuple[str, bool]:
    """The partition key of a top-level directory, and whether it had to be hashed."""
    literal = namespace_tag(namespace) + top
    if utf8_len(literal) <= PK_LIMIT:
        return literal, False
    return "#" + _sha256(literal), True


def sort_key(key: str) -> tuple[str, bool]:
    """The sort key of ``key``, and whether it was truncated (then the item stores ``key`` in ``k``)."""
    if utf8_len(key) <= SK_LITERAL_MAX:
        return key, False
    return truncate_utf8(key, SK_LITERAL_MAX) + _sha256(key), True


def sort_prefix(prefix: str) -> str:
    """The ``begins_with`` operand matching every sort key of a key starting with ``prefix``."""
    return truncate_utf8(prefix, SK_PREFIX_MAX)


def primary_key(namespace: str, key: str) -> Item:
    """``{"pk": ..., "sk": ...}`` of ``key`` in ``namespace`` (what GetItem, DeleteItem... take)."""
    pk, _ = partition_key(namespace, top_directory(key))
    sk, _ = sort_key(key)
    return {PK: {"S": pk}, SK: {"S": sk}}


def expiry_numbers(expires_at: float) -> tuple[str, str]:
    """``exp`` (epoch seconds, microseconds, what reads filter on) and ``ttl`` (whole seconds, rounded up)."""
    return f"{expires_at:.6f}", str(math.ceil(expires_at))


def new_version() -> bytes:
    """A fresh random version token (what ``ver`` holds)."""
    return secrets.token_bytes(VERSION_SIZE)


def build_item(namespace: str, key: str, value: bytes, expires_at: float) -> Item:
    """The full item of one key, with a fresh ``ver``; raises ``ValueError`` if it would exceed the 400 KB limit."""
    pk, pk_hashed = partition_key(namespace, top_directory(key))
    sk, sk_hashed = sort_key(key)
    exp, ttl = expiry_numbers(expires_at)
    item: Item = {
        PK: {"S": pk},
        SK: {"S": sk},
        VALUE: {"B": value},
        EXPIRES: {"N": exp},
        TTL: {"N": ttl},
        VERSION: {"B": new_version()},
    }
    if sk_hashed:
        item[FULL_KEY] = {"S": key}
    if pk_hashed:
        item[NAMESPACE] = {"S": namespace}
    size = item_size(item)
    if size > ITEM_LIMIT:
        raise ValueError(f"key {key[:40]!r}... with a {len(value)}-byte value makes a {size}-byte DynamoDB item")
    return item


def item_size(item: Item) -> int:
    """DynamoDB's size of ``item``: names plus values (numbers counted at their maximum, so never under)."""
    total = 0
    for name, attr in item.items():
        total += len(name)
        for kind, payload in attr.items():
            if kind == "N":
                total += NUMBER_SIZE_MAX
            elif isinstance(payload, bytes):
                total += len(payload)
            else:
                total += utf8_len(payload)
    return total


def stored_key(item: Item) -> str:
    """The sessionkv key an item holds (from ``k`` when its sort key was truncated)."""
    attr = item.get(FULL_KEY) or item[SK]
    value = attr["S"]
    assert isinstance(value, str)
    return value
