"""Versions of Redis values: every value the store writes carries a header naming the write.

Redis keeps no per-key version, so each write stores ``MAGIC + token + value``: the 16-byte token
is this store's random prefix plus a counter, unique to that write. ``get``/``mget`` strip the
header; ``get_versioned`` returns the token as the version; ``cas``/``add``/``delete_if`` compare
it inside a Lua script (one key, so it works in a cluster too). A value written by another tool
(no header) is returned as it is, and its version is the SHA-1 of its bytes.
"""

from __future__ import annotations

import hashlib
import itertools
import secrets

MAGIC = b"\x00skv1"
TOKEN_SIZE = 16
HEADER_SIZE = len(MAGIC) + TOKEN_SIZE

_LUA_VERSION = f"""
local MAGIC = '\\0skv1'
local function version_of(v)
  if string.sub(v, 1, {len(MAGIC)}) == MAGIC and #v >= {HEADER_SIZE} then
    return string.sub(v, {len(MAGIC) + 1}, {HEADER_SIZE})
  end
  return 'sha1:' .. redis.sha1hex(v)
end
"""


class Stamper:
    """Unique write tokens for one store: a random 8-byte prefix and an 8-byte counter."""

    def __init__(self) -> None:
        self._prefix = secrets.token_bytes(8)
        self._counter = itertools.count(1)

    def stamp(self, value: bytes) -> bytes:
        """``value`` with a fresh header."""
        return MAGIC + self._prefix + next(self._counter).to_bytes(8, "big") + value


def strip(raw: bytes) -> bytes:
    """The value without its header (a value without one is returned as it is)."""
    return raw[HEADER_SIZE:] if raw[:5] == MAGIC and len(raw) >= HEADER_SIZE else raw


def split(raw: bytes) -> tuple[bytes, bytes]:
    """``(version, value)`` of a stored value (see the module docstring)."""
    if raw[:5] == MAGIC and len(raw) >= HEADER_SIZE:
        return raw[len(MAGIC) : HEADER_SIZE], raw[HEADER_SIZE:]
    return b"sha1:" + hashlib.sha1(raw).hexdigest().encode(), raw


def cas_script(index_lua: str) -> str:
    """KEYS: the full key. ARGV: expected version ("" = absent), stamped value, px, index prefix, key, indexed.

    Returns 1 if it wrote. ``index_lua`` defines ``index(idx, key, px, now)``, ``settle(now)`` and ``now_ms()``.
    """
    return (
        index_lua
        + _LUA_VERSION
        + """
local cur = redis.call('GET', KEYS[1])
if ARGV[1] == '' then
  if cur then return 0 end
elseif (not cur) or version_of(cur) ~= ARGV[1] then
  return 0
end
local px = tonumber(ARGV[3])
redis.call('SET', KEYS[1], ARGV[2], 'PX', px)
if ARGV[6] == '1' then
  local now = now_ms()
  index(ARGV[4], ARGV[5], px, now)
  settle(now)
end
return 1
"""
    )


def delete_if_script(index_lua: str) -> str:
    """KEYS: the full key. ARGV: expected version, index prefix, key, indexed. Returns 1 if it deleted."""
    return (
        index_lua
        + _LUA_VERSION
        + """
local cur = redis.call('GET', KEYS[1])
if (not cur) or version_of(cur) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
if ARGV[4] == '1' then
  unindex(ARGV[2], ARGV[3])
  settle(now_ms())
end
return 1
"""
    )
