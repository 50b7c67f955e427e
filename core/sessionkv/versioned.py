"""``Versioned``: a value with the opaque version token of the write that stored it.

Versions come from the backend (a counter, a random token, memcached's cas unique, etcd's
mod_revision...). They are compared by equality only and change on every write of a key, so
``cas(key, value, ttl, version=v)`` succeeds only if nobody wrote the key since ``v`` was read.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

#: An opaque version token: compare with ``==`` only.
Version = Hashable


@dataclass(frozen=True, slots=True)
class Versioned:
    """A live key's value and the version of the write that stored it."""

    value: bytes
    version: Version
