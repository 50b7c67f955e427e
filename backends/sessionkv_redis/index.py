"""Directory indexes on Redis: listing a directory costs its entries, not a SCAN of the keyspace.

A directory is a key prefix ending in ``/``. A written key is a member of a sorted set per indexed
directory it lies in (``""``, ``a/``, ``a/b/`` for ``a/b/c``), scored by its expiry in server
milliseconds. Each write changes the key and its index entries in one Lua script (atomic, one round
trip, the server's own clock), so ``keys(prefix)`` reads the sorted set of ``prefix``'s directory from
"now" on and keeps the members starting with ``prefix``: exact for any prefix, and costing only that
directory's entries. Index keys live
outside the namespace, under ``INDEX_PREFIX + namespace + directory``: no key of any namespace
collides with them.

Footprint: an index set never outlives its members. Every script that adds or removes members of an
index set then ``settle``s it: it removes up to ``PRUNE`` of its expired members (lowest scores first,
``ZCOUNT`` + ``ZREMRANGEBYRANK``; each expired member is removed once, so amortised O(1) per key) and
moves the set's own expiry to its latest member's deadline (``PEXPIREAT`` the highest score, read
with ``ZRANGE -1 -1``: this lengthens and shortens it alike, and needs no ``GT``, which would treat a
new set's missing ttl as infinite). All of it runs in the write's own script: no extra round trip.
So a directory never listed again disappears from the server with its last key, and listing
still prunes the rest (``LIST_LUA``).

``index_type=hash`` (Redis 7.4+, Valkey 9+) keeps the same index as hashes instead: a field per key
and directory, given the key's own ttl in the key's script (``HASH_ENTRIES``), so the server expires the
entry with the key and drops the hash with its last field; nothing is pruned or re-timed, and a
listing pages by ``HSCAN`` cursor. Every script is built from one block of entry functions per type
(``ENTRIES``), so both types share the scripts' logic; scripts of one key (a lone ``set``, a one-key touch,
``cas``, ``delete_if``) use the type's one-key block (``ONE_KEY_ENTRIES``), which for a hash writes each field at
once instead of gathering them.

One server indexes every directory; its scripts (below) name the index keys themselves.

Redis Cluster (``tagged.py``) indexes only hash-tagged directories, by this rule. Redis hashes only a
key's hash tag: the text between its first ``{`` and the first ``}`` after that one, if non-empty
(``{}`` is no tag, and the whole key is hashed; a later ``{...}`` never counts). For a data key
``ns + key`` and a directory ``d`` of ``key``, if ``ns + d`` contains that complete tag, the index key
``INDEX_PREFIX + ns + d`` has the very same tag (``INDEX_PREFIX`` holds no ``{``), so the data key and
its directory's index live in ONE slot and one script may declare and update both atomically. Every
key in such a directory shares the tag, so its index is complete: a cluster indexes exactly those
directories and lists every other one (and the root ``""``, unless the namespace holds the tag) by a
SCAN of every primary. The registry's ``s/{<call>}/`` is such a directory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .versions import cas_script, delete_if_script

#: Prefix of every index key (a NUL byte first: no sessionkv namespace starts with one by accident).
INDEX_PREFIX = "\x00sessionkv-dir\x00"
#: Members per page when a directory is listed (bounds the time one script blocks the server).
PAGE = 10_000
#: Expired members a write removes from each index set it touches (bounds the time one write blocks).
PRUNE = 64

#: Index types (the ``index_type`` option): how a directory's entries are kept.
SORTED_SET = "sorted_set"
HASH = "hash"
INDEX_TYPES = (SORTED_SET, HASH)

#: Sorted-set entries. ``touched`` index keys and ``settle(now)``: prune a touched set's expired members (at
#: most ``PRUNE``) and set its expiry to its latest member's deadline (module docstring). Every
#: index-writing script ends with ``settle``.
SETTLE_FUNCTIONS = f"""
local touched = {{}}
local function settle(now)
  for idx in pairs(touched) do
    local dead = redis.call('ZCOUNT', idx, '-inf', now)
    if dead > 0 then redis.call('ZREMRANGEBYRANK', idx, 0, math.min(dead, {PRUNE}) - 1) end
    local last = redis.call('ZRANGE', idx, -1, -1, 'WITHSCORES')
    if last[2] then redis.call('PEXPIREAT', idx, last[2]) end
  end
  touched = {{}}
end
"""

#: The primitives every index-writing script is built on, one block per index type: ``now_ms()``,
#: ``add_entry(idx, key, px, now)`` (``key`` expires ``px`` ms after ``now``), ``remove_entry(idx, key)`` and
#: ``settle(now)``, called once at the end of a script.
SORTED_SET_ENTRIES = (
    SETTLE_FUNCTIONS
    + """
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function add_entry(idx, key, px, now)
  redis.call('ZADD', idx, now + px, key)
  touched[idx] = true
end
local function remove_entry(idx, key)
  redis.call('ZREM', idx, key)
  touched[idx] = true
end
"""
)

#: Hash entries (Redis 7.4+, Valkey 9+): a field per key, given the key's own relative ttl in the same script
#: (scripts see one frozen clock), so the server drops the field when it drops the key, and the hash with its
#: last field. Nothing to prune or re-time, and no clock to read: ``now_ms`` is a constant. Additions wait in
#: ``pending`` (the last ttl of each key wins, as its last SET does) and ``settle`` writes them per directory
#: and ttl: one ``HSET`` and one ``HPEXPIRE`` for up to ``FIELDS_CHUNK`` keys, so a batch costs two commands a
#: directory, not two a key.
FIELDS_CHUNK = 1_000
HASH_ENTRIES = f"""
local pending = {{}}
local function now_ms() return 0 end
local function add_entry(idx, key, px, now)
  local keys = pending[idx]
  if not keys then keys = {{}}; pending[idx] = keys end
  keys[key] = px
end
local function remove_entry(idx, key)
  if pending[idx] then pending[idx][key] = nil end
  redis.call('HDEL', idx, key)
end
local function settle(now)
  for idx, keys in pairs(pending) do
    local by_px = {{}}
    for key, px in pairs(keys) do
      local group = by_px[px]
      if not group then group = {{}}; by_px[px] = group end
      group[#group + 1] = key
    end
    for px, group in pairs(by_px) do
      for first = 1, #group, {FIELDS_CHUNK} do
        local last = math.min(first + {FIELDS_CHUNK} - 1, #group)
        local pairs_ = {{}}
        for i = first, last do
          pairs_[#pairs_ + 1] = group[i]
          pairs_[#pairs_ + 1] = ''
        end
        redis.call('HSET', idx, unpack(pairs_))
        redis.call('HPEXPIRE', idx, px, 'FIELDS', last - first + 1, unpack(group, first, last))
      end
    end
  end
  pending = {{}}
end
"""

#: Hash entries for a script that indexes one key: each field is written at once (``HSET`` + ``HPEXPIRE``).
#: ``pending`` only pays when a batch shares directories; for one key its tables and grouping cost the server
#: as much as the key's commands (a one-key set: 29 µs of server time with ``HASH_ENTRIES``, 17 µs with these).
HASH_ONE_KEY_ENTRIES = """
local function now_ms() return 0 end
local function add_entry(idx, key, px, now)
  redis.call('HSET', idx, key, '')
  redis.call('HPEXPIRE', idx, px, 'FIELDS', 1, key)
end
local function remove_entry(idx, key) redis.call('HDEL', idx, key) end
local function settle(now) end
"""

#: Entries of each index type, for scripts of any number of keys and for scripts of one key.
ENTRIES = {SORTED_SET: SORTED_SET_ENTRIES, HASH: HASH_ENTRIES}
ONE_KEY_ENTRIES = {SORTED_SET: SORTED_SET_ENTRIES, HASH: HASH_ONE_KEY_ENTRIES}

#: ``index``/``unindex`` a key in the index of every directory it lies in (``idx`` is the root's index key).
_DIRECTORY_FUNCTIONS = """
local function index(idx, key, px, now)
  add_entry(idx, key, px, now)
  local pos = 0
  while true do
    local s = string.find(key, '/', pos + 1, true)
    if not s then break end
    add_entry(idx .. string.sub(key, 1, s), key, px, now)
    pos = s
  end
end
local function unindex(idx, key)
  remove_entry(idx, key)
  local pos = 0
  while true do
    local s = string.find(key, '/', pos + 1, true)
    if not s then break end
    remove_entry(idx .. string.sub(key, 1, s), key)
    pos = s
  end
end
"""


def index_functions(entries: str) -> str:
    """``entries`` plus ``index``/``unindex`` over a key's directories: what one server's scripts run on."""
    return entries + _DIRECTORY_FUNCTIONS


#: KEYS: full keys. ARGV: index prefix, only_if_exists ("1"/"0"), then value, px, key per item.
_SET = """
local now = now_ms()
local xx = ARGV[2] == '1'
for i, full in ipairs(KEYS) do
  local base = 2 + (i - 1) * 3
  local px = tonumber(ARGV[base + 2])
  local ok
  if xx then
    ok = redis.call('SET', full, ARGV[base + 1], 'PX', px, 'XX')
  else
    ok = redis.call('SET', full, ARGV[base + 1], 'PX', px)
  end
  if ok then index(ARGV[1], ARGV[base + 3], px, now) end
end
settle(now)
return 1
"""

#: ``_SET`` for one key (ARGV as ``_SET``'s for one item), on one-key entries: a lone ``set``'s script.
_SET_ONE = """
local now = now_ms()
local px = tonumber(ARGV[4])
local ok
if ARGV[2] == '1' then
  ok = redis.call('SET', KEYS[1], ARGV[3], 'PX', px, 'XX')
else
  ok = redis.call('SET', KEYS[1], ARGV[3], 'PX', px)
end
if ok then index(ARGV[1], ARGV[5], px, now) end
settle(now)
return 1
"""

#: KEYS: full keys. ARGV: index prefix, px, then the key of each full key. Returns positions of missing keys.
_EXPIRE = """
local now = now_ms()
local px = tonumber(ARGV[2])
local missing = {}
for i, full in ipairs(KEYS) do
  if redis.call('PEXPIRE', full, px) == 1 then
    index(ARGV[1], ARGV[2 + i], px, now)
  else
    missing[#missing + 1] = i
  end
end
settle(now)
return missing
"""

#: KEYS: full keys. ARGV: index prefix, then the key of each full key.
_DELETE = """
for i, full in ipairs(KEYS) do
  redis.call('DEL', full)
  unindex(ARGV[1], ARGV[1 + i])
end
settle(now_ms())
return 1
"""


def set_script(entries: str) -> str:
    """``SET_LUA`` for an index type's ``entries``."""
    return index_functions(entries) + _SET


def set_one_script(one_key_entries: str) -> str:
    """The one-key ``set`` script for an index type's ``one_key_entries``."""
    return index_functions(one_key_entries) + _SET_ONE


def expire_script(entries: str) -> str:
    """``EXPIRE_LUA`` for an index type's ``entries``."""
    return index_functions(entries) + _EXPIRE


def delete_script(entries: str) -> str:
    """``DELETE_LUA`` for an index type's ``entries``."""
    return index_functions(entries) + _DELETE


#: The sorted-set index's ``index``/``unindex`` functions and scripts.
INDEX_FUNCTIONS = index_functions(SORTED_SET_ENTRIES)
SET_LUA = set_script(SORTED_SET_ENTRIES)
EXPIRE_LUA = expire_script(SORTED_SET_ENTRIES)
DELETE_LUA = delete_script(SORTED_SET_ENTRIES)

#: The start of every listing script: KEYS[1] the directory's index key, ARGV[1] where to start, ARGV[2] how
#: many. Reads a ``page`` of live members and a ``head``: for a sorted set, how many expired members it pruned
#: (on the first page, ARGV[1] an offset); for a hash, the cursor of the next page (``0``: the last one;
#: ARGV[1] a cursor; expired fields are never returned, and a member may come twice, as with any SCAN).
LIST_PAGE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local head = 0
if tonumber(ARGV[1]) == 0 then head = redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now) end
local page = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf', 'LIMIT', ARGV[1], ARGV[2])
"""
HASH_LIST_PAGE_LUA = """
local scanned = redis.call('HSCAN', KEYS[1], ARGV[1], 'COUNT', ARGV[2], 'NOVALUES')
local head, page = scanned[1], scanned[2]
"""
LIST_PAGES = {SORTED_SET: LIST_PAGE_LUA, HASH: HASH_LIST_PAGE_LUA}

#: A listing page: ``head``, then the page's members.
_LIST = """
table.insert(page, 1, head)
return page
"""

#: Members per ``MGET`` inside ``ITEMS_LUA`` (Lua's ``unpack`` fails past about 8,000 values).
MGET_CHUNK = 1_000

#: A listing page with the values: ARGV[3] the namespace, ARGV[4] the prefix. Returns ``head``, how many
#: members the page held, then ``key, value`` for each live member starting with the prefix. The data keys are
#: read in the index key's own script: one server, or (Redis Cluster) a hash-tagged directory, whose keys share
#: the index key's slot.
_ITEMS = f"""
local ns, prefix = ARGV[3], ARGV[4]
local names, full = {{}}, {{}}
for _, member in ipairs(page) do
  if string.sub(member, 1, #prefix) == prefix then
    names[#names + 1] = member
    full[#full + 1] = ns .. member
  end
end
local out = {{head, #page}}
for first = 1, #full, {MGET_CHUNK} do
  local values = redis.call('MGET', unpack(full, first, math.min(first + {MGET_CHUNK} - 1, #full)))
  for i, value in ipairs(values) do
    if value then
      out[#out + 1] = names[first + i - 1]
      out[#out + 1] = value
    end
  end
end
return out
"""


def list_script(index_type: str) -> str:
    """The listing script of ``index_type``: ``head``, then a page of members."""
    return LIST_PAGES[index_type] + _LIST


def items_script(index_type: str) -> str:
    """The listing script of ``index_type`` that also reads the values (see ``_ITEMS``)."""
    return LIST_PAGES[index_type] + _ITEMS


LIST_LUA = list_script(SORTED_SET)
ITEMS_LUA = items_script(SORTED_SET)


@dataclass(frozen=True)
class Scripts:
    """One server's scripts for one index type (a cluster's are ``tagged.TaggedScripts``).

    ``set_one``, ``expire_one``, ``cas`` and ``delete_if`` index one key, on the type's one-key entries.
    """

    set: str
    set_one: str
    expire: str
    expire_one: str
    delete: str
    cas: str
    delete_if: str
    list: str
    items: str

    @classmethod
    def of(cls, index_type: str) -> Scripts:
        entries, one_key = ENTRIES[index_type], ONE_KEY_ENTRIES[index_type]
        functions = index_functions(one_key)
        return cls(
            set_script(entries),
            set_one_script(one_key),
            expire_script(entries),
            expire_script(one_key),
            delete_script(entries),
            cas_script(functions),
            delete_if_script(functions),
            list_script(index_type),
            items_script(index_type),
        )


SCRIPTS = {index_type: Scripts.of(index_type) for index_type in INDEX_TYPES}


def directory(key: str) -> str:
    """Everything up to and including the last ``/`` of ``key`` (``""`` if it has none)."""
    return key[: key.rfind("/") + 1]


def hash_tag_end(full_key: str) -> int | None:
    """Position just after the closing ``}`` of ``full_key``'s Redis hash tag; ``None`` if it has no tag.

    Redis's rule: the first ``{``, then the first ``}`` after it, with at least one character between.
    ``{`` and ``}`` are ASCII, so str positions find the same tag as the server's bytes do.
    """
    start = full_key.find("{")
    if start < 0:
        return None
    end = full_key.find("}", start + 1)
    if end < 0 or end == start + 1:
        return None
    return end + 1


def tagged_directories(namespace: str, key: str) -> list[str]:
    """The directories of ``key`` (shortest first, ``""`` included) whose ``namespace + d`` holds the key's tag.

    These are the directories a cluster indexes: their index keys share ``namespace + key``'s slot.
    """
    if "{" not in key and "{" not in namespace:
        return []
    end = hash_tag_end(namespace + key)
    if end is None:
        return []
    needed = end - len(namespace)  # how much of ``key`` a directory must span to hold the tag
    found = [""] if needed <= 0 else []
    slash = key.find("/")
    while slash >= 0:
        if slash + 1 >= needed:
            found.append(key[: slash + 1])
        slash = key.find("/", slash + 1)
    return found


def set_args(index_prefix: str, only_if_exists: bool, items: list[tuple[str, bytes, int]]) -> list[Any]:
    """ARGV of ``SET_LUA`` for ``(key, value, px)`` items."""
    args: list[Any] = [index_prefix, "1" if only_if_exists else "0"]
    for key, value, px in items:
        args += [value, px, key]
    return args
