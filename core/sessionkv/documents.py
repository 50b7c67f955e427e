"""``Documents``: versioned documents on a store, for state that several nodes update (a conversation).

``load`` gives a document and its version; ``save`` writes only if nobody saved since that
version (else ``ConflictError``); ``update`` retries ``load -> fn -> save`` with backoff. Given a
lease's fencing token, ``save`` also refuses a token lower than the highest one the document has
stored (``FencedOutError``): the store itself rejects a stale lease holder.

Stored form: ``MAGIC`` + the highest fence seen (8 bytes, big-endian) + the document bytes.
"""

from __future__ import annotations

import asyncio
import random
from collections import OrderedDict
from collections.abc import Callable

from .errors import ConflictError, FencedOutError
from .validation import check_key
from .versioned import Version

MAGIC = b"skvdoc\x01"
_HEADER = len(MAGIC) + 8
#: How many (version -> stored fence) pairs a ``Documents`` remembers from its own loads and saves.
REMEMBERED = 1024


class Documents:
    """Versioned documents under ``prefix`` in ``store`` (see the module docstring)."""

    def __init__(self, store: object, prefix: str = "doc/") -> None:
        from .adapt import adapt

        self.store = adapt(store)
        if not isinstance(prefix, str):
            raise TypeError(f"prefix must be str, not {type(prefix).__name__}")
        self.prefix = prefix
        self._fences: OrderedDict[Version, int] = OrderedDict()

    def _key(self, doc_id: str) -> str:
        return check_key(self.prefix + check_key(doc_id), self.store.capabilities)

    async def load(self, doc_id: str) -> tuple[bytes | None, Version | None]:
        """``(value, version)`` of a document, ``(None, None)`` when absent or expired."""
        found = await self.store.get_versioned(self._key(doc_id))
        if found is None:
            return None, None
        fence, value = _decode(found.value)
        self._remember(found.version, fence)
        return value, found.version

    async def save(
        self, doc_id: str, value: bytes, version: Version | None, ttl: float, *, fence: int | None = None
    ) -> Version:
        """Write ``value`` if the document is still at ``version`` (``None``: absent); return the new version.

        Raises ``ConflictError`` when someone saved meanwhile, ``FencedOutError`` when ``fence`` is
        lower than a fence the document already stored; nothing is written in either case.
        """
        if fence is not None and (isinstance(fence, bool) or not isinstance(fence, int) or fence < 0):
            raise ValueError(f"fence must be an int >= 0, got {fence!r}")
        key = self._key(doc_id)
        stored_fence = 0 if version is None else self._fences.get(version)
        if stored_fence is None:  # a version this object did not read: look at the stored fence
            current = await self.store.get_versioned(key)
            if current is None or current.version != version:
                raise ConflictError(f"document {doc_id!r} changed since version {version!r}")
            stored_fence = _decode(current.value)[0]
        if fence is not None and fence < stored_fence:
            raise FencedOutError(f"document {doc_id!r} has seen fence {stored_fence}; refusing a write with {fence}")
        new_fence = max(stored_fence, fence or 0)
        written = await self.store.cas(key, _encode(new_fence, value), ttl, version=version)
        if written is None:
            raise ConflictError(f"document {doc_id!r} changed since version {version!r}")
        self._remember(written, new_fence)
        return written

    async def update(
        self,
        doc_id: str,
        fn: Callable[[bytes | None], bytes],
        ttl: float,
        retries: int = 10,
        *,
        fence: int | None = None,
    ) -> tuple[bytes, Version]:
        """Apply ``fn(current)`` and save, retrying on conflict with jittered backoff; ``ConflictError`` at the end."""
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ValueError(f"retries must be an int >= 0, got {retries!r}")
        delay = 0.005
        for _ in range(retries + 1):
            current, version = await self.load(doc_id)
            new = fn(current)
            try:
                return new, await self.save(doc_id, new, version, ttl, fence=fence)
            except FencedOutError:
                raise
            except ConflictError:
                await asyncio.sleep(delay * random.uniform(0.5, 1.5))
                delay = min(delay * 2, 0.5)
        raise ConflictError(f"document {doc_id!r}: update lost to concurrent writers {retries + 1} times; try again")

    def _remember(self, version: Version, fence: int) -> None:
        self._fences[version] = fence
        self._fences.move_to_end(version)
        while len(self._fences) > REMEMBERED:
            self._fences.popitem(last=False)


def _encode(fence: int, value: bytes) -> bytes:
    return MAGIC + fence.to_bytes(8, "big") + bytes(value)


def _decode(raw: bytes) -> tuple[int, bytes]:
    """``(fence, value)``; a value not written by ``Documents`` is taken as a document with fence 0."""
    if raw.startswith(MAGIC) and len(raw) >= _HEADER:
        return int.from_bytes(raw[len(MAGIC) : _HEADER], "big"), raw[_HEADER:]
    return 0, raw
