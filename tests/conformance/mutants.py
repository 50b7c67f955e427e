"""Deliberately broken backends: MemoryStore subclasses that each break one rule of the contract.

``MUTANTS`` maps each mutant to the named conformance tests that must catch it.
"""

from __future__ import annotations

import asyncio
import fnmatch
import math

from sessionkv import StoreCapabilities, ValueTooLargeError
from sessionkv_memory import MemoryStore


class IgnoresOnlyIfExists(MemoryStore):
    """set(only_if_exists=True) writes anyway."""

    async def set(self, key: str, value: bytes, ttl: float, *, only_if_exists: bool = False) -> None:
        await super().set(key, value, ttl)


class NonAtomicOnlyIfExists(MemoryStore):
    """only_if_exists checks, yields to the loop, then writes: a delete in between is undone."""

    async def set(self, key: str, value: bytes, ttl: float, *, only_if_exists: bool = False) -> None:
        if only_if_exists:
            if await self.get(key) is None:
                return
            await asyncio.sleep(0)
        await super().set(key, value, ttl)


class ReordersMget(MemoryStore):
    """mget answers in reverse order."""

    async def mget(self, keys: list[str]) -> list[bytes | None]:
        return list(reversed(await super().mget(keys)))


class TruncatesTTLToWholeSeconds(MemoryStore):
    """ttl cut to whole seconds (at least 1), as an integer-seconds server API would."""

    async def set(self, key: str, value: bytes, ttl: float, *, only_if_exists: bool = False) -> None:
        await super().set(key, value, float(max(1, math.floor(ttl))), only_if_exists=only_if_exists)

    async def mset(self, items: list[tuple[str, bytes, float]]) -> None:
        await super().mset([(k, v, float(max(1, math.floor(t)))) for k, v, t in items])


class KeepsKeysASecondLonger(MemoryStore):
    """Declares 1 ms ttl resolution but keeps every key a second past its ttl."""

    async def set(self, key: str, value: bytes, ttl: float, *, only_if_exists: bool = False) -> None:
        await super().set(key, value, ttl + 1.0, only_if_exists=only_if_exists)

    async def mset(self, items: list[tuple[str, bytes, float]]) -> None:
        await super().mset([(k, v, t + 1.0) for k, v, t in items])


class TinyTTLMeansForever(MemoryStore):
    """A ttl under 1 ms becomes 'no expiry' (like PX 0 / exptime 0 mistakes)."""

    async def set(self, key: str, value: bytes, ttl: float, *, only_if_exists: bool = False) -> None:
        await super().set(key, value, 10 * 365 * 86400.0 if ttl < 0.001 else ttl, only_if_exists=only_if_exists)

    async def mset(self, items: list[tuple[str, bytes, float]]) -> None:
        await super().mset([(k, v, 10 * 365 * 86400.0 if t < 0.001 else t) for k, v, t in items])


class GlobPrefix(MemoryStore):
    """keys(prefix) treats the prefix as a glob pattern."""

    async def keys(self, prefix: str = "") -> list[str]:
        return [key for key in await super().keys("") if fnmatch.fnmatchcase(key, prefix + "*")]


class ListsExpiredKeys(MemoryStore):
    """keys() ignores deadlines."""

    async def keys(self, prefix: str = "") -> list[str]:
        start, cut = self.namespace + prefix, len(self.namespace)
        return [k[cut:] for k in list(self._data.items) if k.startswith(start)]


class ListsOtherNamespaces(MemoryStore):
    """keys('') lists every namespace of the shared data (namespace filter forgotten)."""

    async def keys(self, prefix: str = "") -> list[str]:
        now = self._clock()
        found = [k.split(":", 1)[-1] for k, (_, deadline) in list(self._data.items.items()) if deadline > now]
        return [k for k in found if k.startswith(prefix)]


class ExpireCreatesKeys(MemoryStore):
    """expire() writes an empty value for missing keys."""

    async def expire(self, *keys: str, ttl: float) -> None:
        for key in keys:
            if await self.get(key) is None:
                await self.set(key, b"", ttl)
        await super().expire(*keys, ttl=ttl)


class TouchReportsNothingMissing(MemoryStore):
    """touch() refreshes but always answers that nothing was missing."""

    async def touch(self, keys: list[str], ttl: float) -> list[str]:
        await super().touch(keys, ttl)
        return []


class DropsItemsPast100(MemoryStore):
    """mset silently drops items past a per-request limit of 100."""

    async def mset(self, items: list[tuple[str, bytes, float]]) -> None:
        await super().mset(items[:100])


class DeletesOnlyFirstKey(MemoryStore):
    """delete() removes only the first key of the batch."""

    async def delete(self, keys: list[str]) -> None:
        await super().delete(keys[:1])


class StripsKeys(MemoryStore):
    """Keys are stripped of surrounding whitespace (and so collide)."""

    async def set(self, key: str, value: bytes, ttl: float, *, only_if_exists: bool = False) -> None:
        await super().set(key.strip() or key, value, ttl, only_if_exists=only_if_exists)

    async def mset(self, items: list[tuple[str, bytes, float]]) -> None:
        await super().mset([(k.strip() or k, v, t) for k, v, t in items])


class TruncatesLongKeys(MemoryStore):
    """Keys are cut to 250 characters (a memcached-style limit, not encoded away)."""

    async def set(self, key: str, value: bytes, ttl: float, *, only_if_exists: bool = False) -> None:
        await super().set(key[:250], value, ttl, only_if_exists=only_if_exists)

    async def mset(self, items: list[tuple[str, bytes, float]]) -> None:
        await super().mset([(k[:250], v, t) for k, v, t in items])

    async def get(self, key: str) -> bytes | None:
        return await super().get(key[:250])

    async def mget(self, keys: list[str]) -> list[bytes | None]:
        return await super().mget([k[:250] for k in keys])


class EmptyValueIsMissing(MemoryStore):
    """An empty value reads back as missing."""

    async def get(self, key: str) -> bytes | None:
        return await super().get(key) or None

    async def mget(self, keys: list[str]) -> list[bytes | None]:
        return [value or None for value in await super().mget(keys)]


class SharedScratchState(MemoryStore):
    """Keeps the key being written on the store object across an await: concurrent writes mix up."""

    _pending = ""

    async def set(self, key: str, value: bytes, ttl: float, *, only_if_exists: bool = False) -> None:
        self._pending = key
        await asyncio.sleep(0)
        await super().set(self._pending, value, ttl, only_if_exists=only_if_exists)


class UndeclaredValueLimit(MemoryStore):
    """Declares no max_value_size but refuses values over 512 KiB."""

    async def set(self, key: str, value: bytes, ttl: float, *, only_if_exists: bool = False) -> None:
        if len(value) > 512 * 1024:
            raise ValueTooLargeError("value over 512 KiB")
        await super().set(key, value, ttl, only_if_exists=only_if_exists)


class WrongDeclaredValueLimit(MemoryStore):
    """Declares max_value_size=1000 but cuts stored values to 900 bytes."""

    capabilities = StoreCapabilities(ttl_resolution=0.001, min_ttl=0.000001, max_value_size=1000)

    async def set(self, key: str, value: bytes, ttl: float, *, only_if_exists: bool = False) -> None:
        await super().set(key, value[:900], ttl, only_if_exists=only_if_exists)

    async def mset(self, items: list[tuple[str, bytes, float]]) -> None:
        await super().mset([(k, v[:900], t) for k, v, t in items])


class SkipsValidation(MemoryStore):
    """Bypasses the shared validation (assigned after class creation) and stores str values."""


async def _unchecked_set(
    self: MemoryStore, key: str, value: object, ttl: float, *, only_if_exists: bool = False
) -> None:
    data = value.encode() if isinstance(value, str) else value
    full, now = self.namespace + key, self._clock()
    if only_if_exists and self._data.live(full, now) is None:
        return
    self._data.items[full] = (data, now + float(ttl))  # type: ignore[assignment]


SkipsValidation.set = _unchecked_set  # type: ignore[method-assign]


#: mutant -> the named conformance tests that must fail against it
MUTANTS: dict[type[MemoryStore], list[str]] = {
    IgnoresOnlyIfExists: ["test_only_if_exists_missing_key_not_created", "test_only_if_exists_expired_key_not_revived"],
    NonAtomicOnlyIfExists: ["test_only_if_exists_racing_delete_never_resurrects"],
    ReordersMget: ["test_mget_keeps_order_with_repeated_and_missing_keys", "test_model_based_random_operations"],
    TruncatesTTLToWholeSeconds: ["test_ttl_fractional_seconds_not_truncated"],
    KeepsKeysASecondLonger: ["test_ttl_key_gone_within_declared_resolution"],
    TinyTTLMeansForever: ["test_ttl_tiny_and_sub_millisecond_round_up_not_forever"],
    GlobPrefix: ["test_keys_prefix_is_literal_not_glob"],
    ListsExpiredKeys: ["test_keys_omits_expired_keys"],
    ListsOtherNamespaces: ["test_keys_empty_prefix_lists_whole_namespace_only"],
    ExpireCreatesKeys: ["test_expire_never_creates_missing_key", "test_expire_does_not_revive_expired_key"],
    TouchReportsNothingMissing: ["test_touch_returns_missing_keys_and_refreshes_live_ones"],
    DropsItemsPast100: ["test_batches_of_1000_keys"],
    DeletesOnlyFirstKey: ["test_delete_removes_only_given_keys", "test_model_based_random_operations"],
    StripsKeys: ["test_keys_with_spaces_newlines_and_emoji"],
    TruncatesLongKeys: ["test_keys_of_1024_utf8_bytes"],
    EmptyValueIsMissing: ["test_empty_value"],
    SharedScratchState: ["test_concurrent_interleaved_ops_keep_per_key_results"],
    UndeclaredValueLimit: ["test_value_at_max_value_size_works"],
    WrongDeclaredValueLimit: ["test_value_at_max_value_size_works"],
    SkipsValidation: ["test_bad_values_rejected_with_nothing_written"],
}
