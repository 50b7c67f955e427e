"""What listing a directory may cost: the keys the listing-cost check writes, the directories it lists, its bound.

A store declares ``capabilities.directory_listing`` and counts, in ``keys_examined``, the stored
entries its server examined to answer ``keys()``. The check writes ``UNRELATED`` keys around a
few small directories and lists each; a store declaring an index must examine at most
``examined_bound(k)`` entries for a directory of ``k`` keys, whatever else it holds. No timing.
"""

from __future__ import annotations

from sessionkv import SessionKVStore

#: keys written around the listed directories (siblings, look-alikes, the root), all in one mset
UNRELATED = 300
#: keys in each non-empty listed directory (one of them one level deeper)
IN_DIRECTORY = 5
#: keys that share the listed directories' names without lying in them
LOOK_ALIKES = ["calls/c1", "calls/c1x/s", "calls/{c1}", "calls/{c1}x/s", "calls/{c1/s", "other/c1/s", "c1/s", "calls"]
#: directory -> whether the check lists it for a store declaring ``indexed`` / ``hash_tagged``
PLAIN, TAGGED, PLAIN_EMPTY, TAGGED_EMPTY = "calls/c1/", "calls/{c1}/", "calls/c0/", "calls/{c0}/"
CHECKED = {"indexed": [PLAIN, TAGGED, PLAIN_EMPTY, TAGGED_EMPTY], "hash_tagged": [TAGGED, TAGGED_EMPTY]}


def examined_bound(k: int) -> int:
    """The most entries listing a directory of ``k`` keys may examine: its entries twice over, plus slack."""
    return 2 * k + 20


def directory_keys(directory: str) -> list[str]:
    """The keys the check stores in a non-empty listed ``directory`` (one in a sub-directory)."""
    return [*(f"{directory}s{i}" for i in range(IN_DIRECTORY - 1)), f"{directory}sub/s"]


def unrelated_keys() -> list[str]:
    """``UNRELATED`` distinct keys outside every listed directory: sibling calls (plain and tagged, ``calls/c10/``
    among them), look-alikes, the root."""
    keys = dict.fromkeys(LOOK_ALIKES)
    n = 2
    while len(keys) < UNRELATED:
        keys.update(dict.fromkeys([f"calls/c{n}/s", f"calls/{{c{n}}}/s", f"r{n}", f"x/{n}/y"]))
        n += 1
    return list(keys)[:UNRELATED]


def planted() -> dict[str, list[str]]:
    """Every listed directory -> the keys it holds (empty directories hold none)."""
    return {PLAIN: directory_keys(PLAIN), TAGGED: directory_keys(TAGGED), PLAIN_EMPTY: [], TAGGED_EMPTY: []}


def counted(store: SessionKVStore) -> int | None:
    """The store's ``keys_examined`` as an int, or ``None`` when it does not count."""
    value = store.keys_examined
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def scan_reason() -> str:
    """Why a store declaring (or defaulting to) ``scan`` is not checked."""
    return "declares directory_listing='scan': listing costs the whole store"


def tagged_only_reason() -> str:
    """Why only hash-tagged directories are checked on a store declaring ``hash_tagged``."""
    return (
        f"declares directory_listing='hash_tagged': only directories with a complete {{tag}} are indexed (Redis "
        f"Cluster keeps such a directory's keys and its index in one slot); the cost of listing {PLAIN!r} was not "
        "checked"
    )


def uncounted_reason(kind: str) -> str:
    """Why a store that declares an index but does not count ``keys_examined`` is not checked."""
    return (
        f"declares directory_listing={kind!r} but keys_examined is None (the store does not count the entries "
        "its listings examine): the listing cost was not checked"
    )
