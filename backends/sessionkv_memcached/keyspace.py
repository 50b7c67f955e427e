"""How sessionkv keys become memcached keys, and how keys split into directories for the index.

memcached keys are at most 250 bytes of printable ASCII without spaces. A text that fits passes
through behind a lower-case marker (``k:session-1``); any other text becomes the upper-case marker
plus base64url(sha256(UTF-8)) (``K:3q2-...``, 45 bytes). The markers keep the two forms apart, so
the mapping is collision-free (up to SHA-256). Original keys are recoverable from the directory
index (``sessionkv_memcached.index``), which stores names, never hashes.

A *directory* is a prefix ending in ``/`` (or ``""``, the root): key ``s/c1/x`` has the leaf ``x``
in directory ``s/c1/``, which is the sub-directory ``c1`` of ``s/``, which is ``s`` of the root.
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from dataclasses import dataclass

#: memcached's key limit in bytes.
MAX_SERVER_KEY = 250
#: A namespace longer than this (or not plain ASCII) is hashed, leaving room for the key.
MAX_PLAIN_NAMESPACE = 64
#: Each directory's index is split into this many items (by a hash of the entry name), so one
#: directory may hold this many times memcached's item size in names.
INDEX_SHARDS = 8

LEAF = b"L"
SUBDIR = b"D"


def _plain(text: str) -> bool:
    """True for printable ASCII without spaces (what memcached takes as a key as is)."""
    return text.isascii() and text.isprintable() and " " not in text


def _digest(text: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()


def server_namespace(namespace: str) -> str:
    """The prefix of every memcached key of ``namespace``: as is when short plain ASCII, else hashed."""
    if _plain(namespace) and len(namespace) <= MAX_PLAIN_NAMESPACE:
        return namespace
    return f"#{_digest(namespace)[:22]}:"


@dataclass(frozen=True)
class KeySpace:
    """Server keys of one namespace: data items and directory index shards."""

    prefix: str

    def encode(self, kind: str, text: str) -> bytes:
        """``prefix + kind + ":" + text`` if it is a valid memcached key, else the hashed form."""
        plain = f"{self.prefix}{kind}:{text}"
        if _plain(text) and len(plain) <= MAX_SERVER_KEY:
            return plain.encode()
        return f"{self.prefix}{kind.upper()}:{_digest(text)}".encode()

    def data(self, key: str) -> bytes:
        """The memcached key holding the value of ``key``."""
        return self.encode("k", key)

    def shard(self, directory: str, shard: int) -> bytes:
        """The memcached key of one index shard of ``directory``."""
        return self.encode(f"i{shard}", directory)


def split(key: str) -> tuple[str, str]:
    """``(directory, leaf)``: the key up to and including its last ``/``, and the rest."""
    cut = key.rfind("/") + 1
    return key[:cut], key[cut:]


def shard_of(name: str) -> int:
    """Which index shard of its directory holds entry ``name`` (stable across processes)."""
    return zlib.crc32(name.encode()) % INDEX_SHARDS


@dataclass(frozen=True, slots=True)
class Link:
    """One index entry: ``name`` (a leaf, or a sub-directory without its ``/``) in ``directory``."""

    directory: str
    kind: bytes
    name: str

    @property
    def depth(self) -> int:
        return self.directory.count("/")

    @property
    def shard(self) -> int:
        return shard_of(self.name)

    def encoded(self) -> bytes:
        return encode_entry(self.kind, self.name)


def chain(key: str) -> list[Link]:
    """The entries that make ``key`` reachable from the root, deepest first.

    ``s/c1/x`` -> leaf ``x`` in ``s/c1/``, sub-directory ``c1`` in ``s/``, ``s`` in the root.
    """
    directory, leaf = split(key)
    links = [Link(directory, LEAF, leaf)]
    while directory:
        parent, name = split(directory[:-1])
        links.append(Link(parent, SUBDIR, name))
        directory = parent
    return links


def encode_entry(kind: bytes, name: str) -> bytes:
    """One entry as ``<kind><byte length>:<UTF-8 name>``: any name (newlines, NULs) round-trips."""
    raw = name.encode()
    return kind + str(len(raw)).encode() + b":" + raw


def decode_entries(blob: bytes) -> list[tuple[bytes, str]]:
    """The ``(kind, name)`` entries of an index shard, in order, repeats kept; a torn tail is dropped."""
    out: list[tuple[bytes, str]] = []
    pos, end = 0, len(blob)
    while pos < end:
        kind = blob[pos : pos + 1]
        colon = blob.find(b":", pos + 1)
        if kind not in (LEAF, SUBDIR) or colon < 0 or not blob[pos + 1 : colon].isdigit():
            break
        stop = colon + 1 + int(blob[pos + 1 : colon])
        if stop > end:
            break
        try:
            out.append((kind, blob[colon + 1 : stop].decode()))
        except UnicodeDecodeError:
            break
        pos = stop
    return out
