"""``Lease``: a lock that admits it is one, built on a store's ``cas`` and ``delete_if``.

A lease is held for ``ttl`` seconds unless renewed; a process that pauses longer than that (GC,
VM migration, SIGSTOP) loses it without knowing, while another acquires it. So a lease is not
mutual exclusion under pauses (Kleppmann, "How to do distributed locking", 2016; Jepsen's etcd
analysis found the same of etcd's own locks). What makes it safe is the fencing token: ``fence``
strictly increases with every acquisition of a name where the backend declares
``fencing="strict"``, and the resource protected by the lease must refuse a write whose token is
lower than one it has seen (``sessionkv.Documents.save(..., fence=lease.fence)`` does exactly that).

The lease key is ``LEASE_PREFIX + name``, apart from the application's keys, so a lease may be named
after the key it protects (``store.lease("conversation/c1")`` beside the document ``conversation/c1``)
without colliding with it; the fencing counter is ``key + FENCE_SUFFIX``, kept for a year. An
acquisition takes the lease (``cas`` on an absent key), increments the counter, then checks it
still holds the lease; so fences of successful acquisitions increase in acquisition order even if
an owner pauses between the two steps.
"""

from __future__ import annotations

import asyncio
import secrets
from types import TracebackType
from typing import Protocol

from .capabilities import StoreCapabilities
from .errors import LeaseNotAcquiredError
from .validation import check_key, check_ttl
from .versioned import Version, Versioned

#: Prefix of every lease's key: leases live apart from the keys they protect.
LEASE_PREFIX = "#lease/"
#: Suffix of the key holding a name's fencing counter.
FENCE_SUFFIX = "#fence"
#: How long a fencing counter lives after its last increment (it must outlive every lease on the name).
FENCE_TTL = 365 * 86400.0
#: Poll delays while waiting for a held lease: first, and the cap of the exponential backoff.
FIRST_POLL, MAX_POLL = 0.01, 0.5


class LeaseStore(Protocol):
    """What a lease needs of a store: its capabilities and the versioned operations (``SessionKVStore`` has them).

    A protocol rather than ``SessionKVStore`` itself, so this module does not import ``store`` (which
    imports it for ``store.lease()``): no import cycle.
    """

    @property
    def capabilities(self) -> StoreCapabilities: ...

    async def cas(self, key: str, value: bytes, ttl: float, *, version: Version | None) -> Version | None: ...

    async def get_versioned(self, key: str) -> Versioned | None: ...

    async def delete_if(self, key: str, version: Version) -> bool: ...


class Lease:
    """A lease on ``name`` for ``ttl`` seconds (see the module docstring); one owner token per acquisition.

    The token is random, held by this object only (never shared between tasks or threads), and
    only its holder can ``renew`` or ``release``; both are idempotent and return whether they did.
    """

    def __init__(self, store: LeaseStore, name: str, ttl: float, *, wait: float = 0.0) -> None:
        caps = store.capabilities
        self.store = store
        self.name = check_key(name)
        #: The store key holding the lease (``LEASE_PREFIX + name``).
        self.key = check_key(LEASE_PREFIX + self.name, caps)
        self.ttl = check_ttl(ttl, caps)  # below the backend's minimum: rounded up, never 0
        if isinstance(wait, bool) or not isinstance(wait, (int, float)) or not wait >= 0:
            raise ValueError(f"wait must be a number of seconds >= 0, got {wait!r}")
        self.wait = float(wait)
        #: This acquisition's owner token (``None`` when not held).
        self.token: bytes | None = None
        #: This acquisition's fencing token, or ``None`` where the backend declares ``fencing="none"``.
        self.fence: int | None = None
        self._version: Version | None = None

    @property
    def held(self) -> bool:
        """True from a successful ``acquire`` until ``release`` or a failed ``renew``."""
        return self.token is not None

    async def acquire(self) -> bool:
        """Take the lease if free, polling with backoff for up to ``wait`` seconds; True if now held."""
        if self.held:
            return True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait
        delay = FIRST_POLL
        while True:
            token = secrets.token_bytes(16)
            version = await self.store.cas(self.key, token, self.ttl, version=None)
            if version is not None:
                self.token, self._version = token, version
                self.fence = await self._next_fence()
                if await self._still_held():
                    return True
                self._forget()  # lost while taking the fence: another owner's fence may be lower
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            await asyncio.sleep(min(delay, remaining))
            delay = min(delay * 2, MAX_POLL)

    async def renew(self) -> bool:
        """Extend the lease by ``ttl`` if this object still holds it; False (and no longer held) if it was lost."""
        if self.token is None:
            return False
        version = await self.store.cas(self.key, self.token, self.ttl, version=self._version)
        if version is None:
            self._forget()
            return False
        self._version = version
        return True

    async def release(self) -> bool:
        """Give the lease up if this object still holds it; True if this call released it."""
        version = self._version
        if self.token is None or version is None:
            return False
        self._forget()
        # shielded: a cancelled caller still releases (otherwise the lease simply expires)
        return await asyncio.shield(self.store.delete_if(self.key, version))

    async def _still_held(self) -> bool:
        """True if the lease key still holds this acquisition's write (checked after taking the fence).

        The fence is incremented after the lease is taken; an owner paused in between could take a
        fence higher than the owner after it. Checking that the lease was held throughout makes the
        fences of successful acquisitions strictly increase in the order of acquisition.
        """
        if self.fence is None:
            return True
        current = await self.store.get_versioned(self.key)
        return current is not None and current.version == self._version

    def _forget(self) -> None:
        self.token, self._version, self.fence = None, None, None

    async def _next_fence(self) -> int | None:
        """Increment the name's fencing counter with ``cas`` (strictly increasing where cas is linearizable)."""
        if self.store.capabilities.fencing == "none":
            return None
        key = self.key + FENCE_SUFFIX
        while True:
            current = await self.store.get_versioned(key)
            number = int(current.value) + 1 if current is not None else 1
            written = await self.store.cas(
                key, str(number).encode(), FENCE_TTL, version=current.version if current is not None else None
            )
            if written is not None:
                return number

    async def __aenter__(self) -> Lease:
        if not await self.acquire():
            raise LeaseNotAcquiredError(f"lease {self.name!r} is held by another owner (waited {self.wait:g} s)")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.release()

    def __repr__(self) -> str:
        state = f"held, fence={self.fence}" if self.held else "not held"
        return f"<Lease {self.name!r} ttl={self.ttl:g} {state}>"
