"""Where a sessionkv key lives in the table: partition key = namespace + the key's partition, sort key = key.

A key's partition (``partition_of``) is its top-level directory, up to and including its FIRST ``/``
(empty for keys without one), except under the registry's per-call directories (``SPLIT_DIRECTORIES``:
``s/``, ``c/``, ``a/``): there a second segment that is a hash tag, ``{<call>}``, is part of it, so
each call's records, close requests and admission slots have a partition key of their own. A fleet's
heartbeats then spread over one partition per call instead of all landing on one (DynamoDB gives a
partition key about 1,000 writes/s; a million sessions heartbeating every 5 s write ~20,000/s).

``pk`` is ``"<len(namespace)>:<namespace><partition>"``; the length prefix makes namespaces disjoint even
when one is a prefix of another. ``sk`` is the whole key. So ``keys(prefix)`` is one Query on a single
partition whenever ``prefix`` determines the partition (``listing_partition``): any prefix with a
``/`` outside the split directories, and ``s/{<call>}/`` and deeper inside them; its cost follows the
entries it returns. Other prefixes (those without ``/``, ``""``, and ``s/``/``c/``/``a/`` themselves:
listing every call's sessions, an operator's query) need a Scan of the whole table.

DynamoDB caps partition keys at 2048 bytes and sort keys at 1024: a longer ``pk`` is replaced by
``"#" + sha256`` (the item then carries its namespace in ``ns``, for scans); a key over
``SK_LITERAL_MAX`` bytes becomes its first bytes plus its sha256 (always longer than any literal
sort key, so the mapping stays one-to-one) and the item keeps the full key in ``k``. Prefixes up to
``SK_PREFIX_MAX`` bytes still match those truncated sort keys exactly.

Every write stores a fresh random ``ver`` (16 bytes): the version ``get_versioned`` hands out and
conditional writes compare (``expire``/``touch`` keep it).

The table names its layout in one item (``LAYOUT_PK``/``LAYOUT_SK``, no namespace can reach it: literal
partition keys start with a digit, hashed ones are ``#`` + 64 hex digits). Tables written before the
per-call partitions (layout 1: one partition per top-level directory) have no such item and are refused
at ``start()`` until ``python -m sessionkv_dynamodb.migrate`` moves their items (``sessionkv_dynamodb.migrate``).
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


#: Top-level directories whose ``{tag}`` children each get a partition: the registry's per-call directories.
SPLIT_DIRECTORIES = frozenset({"s/", "c/", "a/"})
#: The layout this module writes, and the item that names it in the table.
LAYOUT = 2
LAYOUT_PK, LAYOUT_SK, LAYOUT_ATTR = "#sessionkv", "layout", "layout"


def _tag_segment(rest: str) -> str | None:
    """``{tag}/`` when ``rest`` (a key after its top directory) starts with a complete, non-empty hash tag segment."""
    slash = rest.find("/")
    if slash > 2 and rest[0] == "{" and rest[slash - 1] == "}":
        return rest[: slash + 1]
    return None


def partition_of(key: str) -> str:
    """The part of ``key`` that picks its partition (see the module docstring)."""
    top = top_directory(key)
    if top in SPLIT_DIRECTORIES:
        tag = _tag_segment(key[len(top) :])
        if tag is not None:
            return top + tag
    return top


def listing_partition(prefix: str) -> str | None:
    """The one partition holding every key that starts with ``prefix``, or ``None`` if they may be in several."""
    top = top_directory(prefix)
    if not top:
        return None
    if top not in SPLIT_DIRECTORIES:
        return top
    rest = prefix[len(top) :]
    if "/" in rest:  # the second segment is complete: tagged or not, it decides
        return partition_of(prefix)
    return None if rest == "" or rest.startswith("{") else top


def partition_key(namespace: str, top: str) -> tuple[str, bool]:
    """The partition key of a partition (``partition_of``), and whether it had to be hashed."""
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
    pk, _ = partition_key(namespace, partition_of(key))
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
    pk, pk_hashed = partition_key(namespace, partition_of(key))
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
