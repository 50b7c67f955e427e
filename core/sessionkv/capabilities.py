"""What a store can and cannot do, declared by each backend and verified by the conformance suite."""

from __future__ import annotations

from dataclasses import dataclass, field

#: The values of ``StoreCapabilities.fencing``, strongest first.
FENCING = ("strict", "best_effort", "none")
#: The values of ``StoreCapabilities.directory_listing``, cheapest first.
DIRECTORY_LISTING = ("indexed", "hash_tagged", "scan")


@dataclass(frozen=True, slots=True)
class StoreCapabilities:
    """A backend's declared limits.

    ttl_resolution: seconds; a key may outlive its ttl by at most this much.
    min_ttl: the smallest ttl the backend honours; smaller ttls round UP to it.
    max_ttl: the largest ttl accepted (``None``: unlimited); at least 365 days.
    max_value_size: largest value in bytes (``None``: unlimited).
    max_key_size: largest key in UTF-8 bytes (``None``: unlimited); at least 1024.
    atomic_mset: whether ``mset`` applies all items or none.
    linearizable: whether ``add``/``cas``/``delete_if`` are linearizable (a single up-to-date copy
        decides them: etcd, DynamoDB with consistent reads); ``False`` where a failover can lose an
        acknowledged write (Redis with replicas or Cluster failover, memcached).
    fencing: how far ``lease(...).fence`` can be trusted: ``"strict"`` (strictly increases with
        every acquisition of a name), ``"best_effort"`` (increases unless the store loses data or
        fails over) or ``"none"`` (no fencing token).
    directory_listing: what ``keys(d)`` costs for a directory ``d`` (a prefix ending in ``/``):
        ``"indexed"`` (d's entries, whatever the store holds), ``"hash_tagged"`` (d's entries when
        d contains a complete Redis hash tag ``{...}``, a scan otherwise: Redis Cluster) or
        ``"scan"`` (grows with the whole store). The suite checks it through ``keys_examined``.
    """

    ttl_resolution: float = 0.001
    min_ttl: float = 0.001
    max_ttl: float | None = None
    max_value_size: int | None = None
    max_key_size: int | None = None
    atomic_mset: bool = False
    linearizable: bool = False
    fencing: str = "none"
    directory_listing: str = "scan"
    #: True when no key, value or ttl limit is declared: then a plain str/bytes/float item needs no size checks.
    plain: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "plain", self.max_key_size is None and self.max_value_size is None and self.max_ttl is None
        )
        if self.fencing not in FENCING:
            raise ValueError(f"fencing must be one of {', '.join(FENCING)}, got {self.fencing!r}")
        if self.directory_listing not in DIRECTORY_LISTING:
            raise ValueError(
                f"directory_listing must be one of {', '.join(DIRECTORY_LISTING)}, got {self.directory_listing!r}"
            )
        if not self.ttl_resolution > 0 or not self.min_ttl > 0:
            raise ValueError("ttl_resolution and min_ttl must be > 0")
        if self.max_ttl is not None and self.max_ttl < 365 * 86400:
            raise ValueError("max_ttl must allow at least 365 days")
        if self.max_key_size is not None and self.max_key_size < 1024:
            raise ValueError("max_key_size must allow at least 1024 bytes")
