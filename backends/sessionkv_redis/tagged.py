"""Redis Cluster's hash-tagged directory index: scripts that declare every key they touch, batches split by slot.

A cluster script may only touch keys of one slot, all declared in KEYS (index.py's docstring says
why a key and the index keys of its tagged directories share one). Each item of a script call is
laid out in KEYS as its data key followed by those index keys, and ARGV gives, per item, how many
index keys follow. ``plan`` splits a batch into the keys that have no tagged directory (plain
pipelined commands, as without an index) and one group per slot; the store sends every group's
script and the plain commands in one cluster pipeline: one round trip per node. The scripts are built on
an index type's entry functions (index.py ``ENTRIES``) and end by ``settle``-ing what they touched.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from redis.crc import key_slot

from .index import ENTRIES, INDEX_TYPES, ONE_KEY_ENTRIES, SORTED_SET, tagged_directories
from .versions import cas_script, delete_if_script

#: KEYS: per item, its full key then its n index keys. ARGV: only_if_exists ("1"/"0"), then value, px, key, n per item.
_SET = """
local now = now_ms()
local xx = ARGV[1] == '1'
local k = 1
for a = 2, #ARGV, 4 do
  local px = tonumber(ARGV[a + 1])
  local n = tonumber(ARGV[a + 3])
  local ok
  if xx then
    ok = redis.call('SET', KEYS[k], ARGV[a], 'PX', px, 'XX')
  else
    ok = redis.call('SET', KEYS[k], ARGV[a], 'PX', px)
  end
  if ok then
    for j = k + 1, k + n do add_entry(KEYS[j], ARGV[a + 2], px, now) end
  end
  k = k + 1 + n
end
settle(now)
return 1
"""

#: KEYS: as _SET. ARGV: px, then key, n per item. Returns the positions (1-based) of the missing items.
_EXPIRE = """
local now = now_ms()
local px = tonumber(ARGV[1])
local missing = {}
local k = 1
local item = 0
for a = 2, #ARGV, 2 do
  local n = tonumber(ARGV[a + 1])
  item = item + 1
  if redis.call('PEXPIRE', KEYS[k], px) == 1 then
    for j = k + 1, k + n do add_entry(KEYS[j], ARGV[a], px, now) end
  else
    missing[#missing + 1] = item
  end
  k = k + 1 + n
end
settle(now)
return missing
"""

#: KEYS: as _SET. ARGV: key, n per item.
_DELETE = """
local k = 1
for a = 1, #ARGV, 2 do
  local n = tonumber(ARGV[a + 1])
  redis.call('DEL', KEYS[k])
  for j = k + 1, k + n do remove_entry(KEYS[j], ARGV[a]) end
  k = k + 1 + n
end
settle(now_ms())
return 1
"""

#: ``index``/``unindex`` for the one-key versioned scripts: KEYS[1] is the key, KEYS[2..] its index keys.
_ONE_KEY_FUNCTIONS = """
local function index(idx, key, px, now)
  for j = 2, #KEYS do add_entry(KEYS[j], key, px, now) end
end
local function unindex(idx, key)
  for j = 2, #KEYS do remove_entry(KEYS[j], key) end
end
"""


@dataclass(frozen=True)
class TaggedScripts:
    """A cluster's index-writing scripts for one index type's entries (index.py ``ENTRIES``).

    ``set_one`` (a lone ``set``), ``cas`` and ``delete_if`` index one key, on the type's one-key entries
    (index.py ``ONE_KEY_ENTRIES``).
    """

    set: str
    set_one: str
    expire: str
    delete: str
    cas: str
    delete_if: str

    @classmethod
    def of(cls, entries: str, one_key_entries: str) -> TaggedScripts:
        one_key = one_key_entries + _ONE_KEY_FUNCTIONS
        return cls(
            entries + _SET,
            one_key_entries + _SET,
            entries + _EXPIRE,
            entries + _DELETE,
            cas_script(one_key),
            delete_if_script(one_key),
        )


SCRIPTS = {index_type: TaggedScripts.of(ENTRIES[index_type], ONE_KEY_ENTRIES[index_type]) for index_type in INDEX_TYPES}
#: The sorted-set index's scripts.
SET_LUA = SCRIPTS[SORTED_SET].set
EXPIRE_LUA = SCRIPTS[SORTED_SET].expire
DELETE_LUA = SCRIPTS[SORTED_SET].delete
CAS_LUA = SCRIPTS[SORTED_SET].cas
DELETE_IF_LUA = SCRIPTS[SORTED_SET].delete_if


@dataclass
class Call:
    """One script call: its KEYS and ARGV, and the batch positions of its items (in ARGV order)."""

    keys: list[str]
    args: list[Any]
    positions: list[int]


@dataclass
class Plan:
    """A batch split for a cluster: ``plain`` positions (no tagged directory) and per-slot groups of the others."""

    plain: list[int] = field(default_factory=list)
    groups: list[list[int]] = field(default_factory=list)
    index_keys: dict[int, list[str]] = field(default_factory=dict)

    def calls(
        self, namespace: str, keys: Sequence[str], head: list[Any], item: Callable[[int], list[Any]]
    ) -> list[Call]:
        """One ``Call`` per group: ARGV is ``head`` then, per item, ``item(position)`` and its index key count."""
        out = []
        for group in self.groups:
            call_keys: list[str] = []
            args = list(head)
            for i in group:
                index_keys = self.index_keys[i]
                call_keys.append(namespace + keys[i])
                call_keys += index_keys
                args += item(i)
                args.append(len(index_keys))
            out.append(Call(call_keys, args, group))
        return out


def index_keys(index_prefix: str, namespace: str, key: str) -> list[str]:
    """The index keys of ``key``'s tagged directories (``index_prefix`` is ``INDEX_PREFIX + namespace``)."""
    return [index_prefix + d for d in tagged_directories(namespace, key)]


def plan(namespace: str, index_prefix: str, keys: Sequence[str], chunk: int) -> Plan:
    """Split ``keys`` by slot (at most ``chunk`` items per group); keys without a tagged directory go to ``plain``."""
    result = Plan()
    by_slot: dict[int, list[int]] = {}
    for i, key in enumerate(keys):
        found = index_keys(index_prefix, namespace, key)
        if not found:
            result.plain.append(i)
            continue
        result.index_keys[i] = found
        by_slot.setdefault(key_slot((namespace + key).encode()), []).append(i)
    for positions in by_slot.values():
        result.groups += [positions[start : start + chunk] for start in range(0, len(positions), chunk)]
    return result
