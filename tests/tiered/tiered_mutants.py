"""Tiered stores whose declared capabilities are wrong: the conformance suite must reject each one.

The tiered store derives what it promises from both tiers (``sessionkv.tiered.tiered_capabilities``). Each
mutant derives one promise the wrong way, over tiers that really differ (memory:// stores with a smaller value
limit, or rounding tiny ttls up); ``MUTANTS`` gives both tiers and names the conformance tests that must fail
for each, and the same tests must pass on the correct derivation over the same tiers.
"""

from __future__ import annotations

import dataclasses

from sessionkv.tiered import TieredStore
from sessionkv_memory import MemoryStore


class SmallDurable(MemoryStore):
    """A tier of record that holds values of at most 4 KiB (as DynamoDB holds 400 KB): it rejects larger ones."""

    capabilities = dataclasses.replace(MemoryStore.capabilities, max_value_size=4096)


class CoarseHot(MemoryStore):
    """A hot tier whose ttls are at least 0.5 s (tiny ttls round up, as memcached's whole seconds do)."""

    capabilities = dataclasses.replace(MemoryStore.capabilities, min_ttl=0.5)


class HotValueLimit(TieredStore):
    """Declares the hot tier's value limit (none), though the durable tier rejects values over 4 KiB."""

    def _derive_capabilities(self) -> None:
        super()._derive_capabilities()
        self.capabilities = dataclasses.replace(self.capabilities, max_value_size=self.hot.capabilities.max_value_size)


class DurableTimings(TieredStore):
    """Declares the durable tier's ttl_resolution and min_ttl as if the hot tier were not there: a hot copy of a
    tiny-ttl key, rounded up by the hot tier, outlives its key."""

    def _derive_capabilities(self) -> None:
        super()._derive_capabilities()
        durable = self.durable.capabilities
        self.capabilities = dataclasses.replace(
            self.capabilities, ttl_resolution=durable.ttl_resolution, min_ttl=durable.min_ttl
        )


#: mutant -> (its hot tier, its durable tier, the conformance tests that must catch it)
MUTANTS: dict[type[TieredStore], tuple[type[MemoryStore], type[MemoryStore], list[str]]] = {
    HotValueLimit: (MemoryStore, SmallDurable, ["test_value_at_max_value_size_works"]),
    DurableTimings: (
        CoarseHot,
        MemoryStore,
        ["test_ttl_tiny_and_sub_millisecond_round_up_not_forever", "test_expire_tiny_ttl_rounds_up_not_forever"],
    ),
}
