"""Deliberately broken backends: MemoryStore subclasses that each break one rule of the contract.

Each overrides the protected methods a backend implements (``_set``, ``_mget``, ...), as a real
backend would; ``MUTANTS`` maps each mutant to the named conformance tests that must catch it.
"""

from __future__ import annotations

import asyncio
import fnmatch
import math

from sessionkv import StoreCapabilities, ValueTooLargeError, Version, Versioned
from sessionkv_memory import MemoryStore
from sessionkv_memory.versions import EntryVersion

FOREVER = 10 * 365 * 86400.0


class IgnoresOnlyIfExists(MemoryStore):
    """set(only_if_exists=True) writes anyway."""

    async def _set(self, key: str, value: bytes, ttl: float, *, only_if_exists: bool) -> None:
        await super()._set(key, value, ttl, only_if_exists=False)


class NonAtomicOnlyIfExists(MemoryStore):
    """only_if_exists checks, yields to the loop, then writes: a delete in between is undone."""

    async def _set(self, key: str, value: bytes, ttl: float, *, only_if_exists: bool) -> None:
        if only_if_exists:
            if await self._get(key) is None:
                return
            await asyncio.sleep(0)
        await super()._set(key, value, ttl, only_if_exists=False)


class ReordersMget(MemoryStore):
    """mget answers in reverse order."""

    async def _mget(self, keys: list[str]) -> list[bytes | None]:
        return list(reversed(await super()._mget(keys)))


class TruncatesTTLToWholeSeconds(MemoryStore):
    """ttl cut to whole seconds (at least 1), as an integer-seconds server API would."""

    async def _set(self, key: str, value: bytes, ttl: float, *, only_if_exists: bool) -> None:
        await super()._set(key, value, float(max(1, math.floor(ttl))), only_if_exists=only_if_exists)

    async def _mset(self, items: list[tuple[str, bytes, float]]) -> None:
        await super()._mset([(k, v, float(max(1, math.floor(t)))) for k, v, t in items])


class KeepsKeysASecondLonger(MemoryStore):
    """Declares 1 ms ttl resolution but keeps every key a second past its ttl."""

    async def _set(self, key: str, value: bytes, ttl: float, *, only_if_exists: bool) -> None:
        await super()._set(key, value, ttl + 1.0, only_if_exists=only_if_exists)

    async def _mset(self, items: list[tuple[str, bytes, float]]) -> None:
        await super()._mset([(k, v, t + 1.0) for k, v, t in items])


class TinyTTLMeansForever(MemoryStore):
    """A ttl under 1 ms becomes 'no expiry' (like PX 0 / exptime 0 mistakes)."""

    async def _set(self, key: str, value: bytes, ttl: float, *, only_if_exists: bool) -> None:
        await super()._set(key, value, FOREVER if ttl < 0.001 else ttl, only_if_exists=only_if_exists)

    async def _mset(self, items: list[tuple[str, bytes, float]]) -> None:
        await super()._mset([(k, v, FOREVER if t < 0.001 else t) for k, v, t in items])


class GlobPrefix(MemoryStore):
    """keys(prefix) treats the prefix as a glob pattern."""

    async def _keys(self, prefix: str) -> list[str]:
        return [key for key in await super()._keys("") if fnmatch.fnmatchcase(key, prefix + "*")]


class ListsExpiredKeys(MemoryStore):
    """keys() ignores deadlines."""

    async def _keys(self, prefix: str) -> list[str]:
        return [k for k in list(self._data.items) if k.startswith(prefix)]


class ItemsOfExpiredKeys(MemoryStore):
    """items() (its own, one pass) ignores deadlines: values of expired keys are listed."""

    async def _items(self, prefix: str) -> list[tuple[str, bytes]]:
        return [(key, entry[0]) for key, entry in list(self._data.items.items()) if key.startswith(prefix)]


class ItemsIgnoringThePrefix(MemoryStore):
    """items() (its own) lists the prefix's whole directory: ``items('d/a')`` also gives ``d/b``."""

    async def _items(self, prefix: str) -> list[tuple[str, bytes]]:
        folder = prefix[: prefix.rfind("/") + 1]
        return await super()._items(folder)


class ListsOtherNamespaces(MemoryStore):
    """keys('') lists every namespace of the shared data (reads every namespace's dict, not only its own)."""

    async def _keys(self, prefix: str) -> list[str]:
        now = self._clock()
        spaces = list(self._spaces.spaces.values())
        found = [k for space in spaces for k, (_, deadline) in list(space.items.items()) if deadline > now]
        return [k for k in found if k.startswith(prefix)]


class ExpireCreatesKeys(MemoryStore):
    """expire() writes an empty value for missing keys."""

    async def _expire(self, keys: list[str], ttl: float) -> None:
        for key in keys:
            if await self._get(key) is None:
                await self._set(key, b"", ttl, only_if_exists=False)
        await super()._expire(keys, ttl)


class TouchReportsNothingMissing(MemoryStore):
    """touch() refreshes but always answers that nothing was missing."""

    async def _touch(self, keys: list[str], ttl: float) -> list[str]:
        await super()._touch(keys, ttl)
        return []


class DropsItemsPast100(MemoryStore):
    """mset silently drops items past a per-request limit of 100."""

    async def _mset(self, items: list[tuple[str, bytes, float]]) -> None:
        await super()._mset(items[:100])


class DeletesOnlyFirstKey(MemoryStore):
    """delete() removes only the first key of the batch."""

    async def _delete(self, keys: list[str]) -> None:
        await super()._delete(keys[:1])


class StripsKeys(MemoryStore):
    """Keys are stripped of surrounding whitespace (and so collide)."""

    async def _set(self, key: str, value: bytes, ttl: float, *, only_if_exists: bool) -> None:
        await super()._set(key.strip() or key, value, ttl, only_if_exists=only_if_exists)

    async def _mset(self, items: list[tuple[str, bytes, float]]) -> None:
        await super()._mset([(k.strip() or k, v, t) for k, v, t in items])


class TruncatesLongKeys(MemoryStore):
    """Keys are cut to 250 characters (a memcached-style limit, not encoded away)."""

    async def _set(self, key: str, value: bytes, ttl: float, *, only_if_exists: bool) -> None:
        await super()._set(key[:250], value, ttl, only_if_exists=only_if_exists)

    async def _mset(self, items: list[tuple[str, bytes, float]]) -> None:
        await super()._mset([(k[:250], v, t) for k, v, t in items])

    async def _get(self, key: str) -> bytes | None:
        return await super()._get(key[:250])

    async def _mget(self, keys: list[str]) -> list[bytes | None]:
        return await super()._mget([k[:250] for k in keys])


class EmptyValueIsMissing(MemoryStore):
    """An empty value reads back as missing."""

    async def _get(self, key: str) -> bytes | None:
        return await super()._get(key) or None

    async def _mget(self, keys: list[str]) -> list[bytes | None]:
        return [value or None for value in await super()._mget(keys)]


class SharedScratchState(MemoryStore):
    """Keeps the key being written on the store object across an await: concurrent writes mix up."""

    _pending = ""

    async def _set(self, key: str, value: bytes, ttl: float, *, only_if_exists: bool) -> None:
        self._pending = key
        await asyncio.sleep(0)
        await super()._set(self._pending, value, ttl, only_if_exists=only_if_exists)


class UndeclaredValueLimit(MemoryStore):
    """Declares no max_value_size but refuses values over 512 KiB."""

    async def _set(self, key: str, value: bytes, ttl: float, *, only_if_exists: bool) -> None:
        if len(value) > 512 * 1024:
            raise ValueTooLargeError("value over 512 KiB")
        await super()._set(key, value, ttl, only_if_exists=only_if_exists)


class WrongDeclaredValueLimit(MemoryStore):
    """Declares max_value_size=1000 but cuts stored values to 900 bytes."""

    capabilities = StoreCapabilities(ttl_resolution=0.001, min_ttl=0.000001, max_value_size=1000)

    async def _set(self, key: str, value: bytes, ttl: float, *, only_if_exists: bool) -> None:
        await super()._set(key, value[:900], ttl, only_if_exists=only_if_exists)

    async def _mset(self, items: list[tuple[str, bytes, float]]) -> None:
        await super()._mset([(k, v[:900], t) for k, v, t in items])


class SkipsValidation(MemoryStore):
    """Bypasses the shared validation: its public ``set`` is replaced after class creation (mypy flags that)."""


async def _unchecked_set(
    self: MemoryStore, key: str, value: object, ttl: float, *, only_if_exists: bool = False
) -> None:
    data = value.encode() if isinstance(value, str) else value
    full, now = key, self._clock()  # memory:// keeps one dict per namespace: keys are not prefixed
    if only_if_exists and self._data.live(full, now) is None:
        return
    self._data.items[full] = (data, now + float(ttl))  # type: ignore[assignment]


SkipsValidation.set = _unchecked_set  # type: ignore[method-assign,misc]


class NonAtomicCas(MemoryStore):
    """cas reads the version, yields to the loop, then writes unconditionally: concurrent increments are lost."""

    async def _cas(self, key: str, value: bytes, ttl: float, version: Version | None) -> Version | None:
        current = await self._get_versioned(key)
        await asyncio.sleep(0)
        if (current.version if current is not None else None) != version:
            return None
        entry = (value, self._clock() + ttl)
        self._data.put_entry(key, entry)
        return EntryVersion(entry)


class AddOverwrites(MemoryStore):
    """add writes whether or not the key is live."""

    async def _add(self, key: str, value: bytes, ttl: float) -> bool:
        await self._set(key, value, ttl, only_if_exists=False)
        return True


class DeleteIfIgnoresVersion(MemoryStore):
    """delete_if deletes whatever the version."""

    async def _delete_if(self, key: str, version: Version) -> bool:
        found = await self._get(key) is not None
        await self._delete([key])
        return found


class VersionIsTheValue(MemoryStore):
    """The version is derived from the value, so writing the same value again keeps it (ABA)."""

    async def _get_versioned(self, key: str) -> Versioned | None:
        value = await self._get(key)
        return None if value is None else Versioned(value, value)

    async def _cas(self, key: str, value: bytes, ttl: float, version: Version | None) -> Version | None:
        if await self._get(key) != version:
            return None
        await self._set(key, value, ttl, only_if_exists=False)
        return value


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
    ItemsOfExpiredKeys: ["test_items_omits_expired_keys"],
    ItemsIgnoringThePrefix: ["test_items_gives_each_live_key_with_its_value", "test_model_based_random_operations"],
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
    NonAtomicCas: [
        "test_counter_loses_no_increment_under_contention",
        "test_documents_update_loses_nothing_under_contention",
    ],
    AddOverwrites: ["test_add_creates_only_if_absent_or_expired", "test_add_is_atomic_under_contention"],
    DeleteIfIgnoresVersion: ["test_delete_if_only_on_the_matching_version"],
    VersionIsTheValue: ["test_versions_change_on_every_kind_of_write"],
}
