"""Keys as stored in the ``key`` column, and the index range holding every key with a given prefix.

PostgreSQL text cannot hold NUL, so ``\\0`` is written ``\\1\\1`` and ``\\1`` is written ``\\1\\2``: a prefix
code, so an escaped key starts with an escaped prefix exactly when the key starts with the prefix, and a
listing stays one range. Keys without either character (nearly all) are stored unchanged.

With ``COLLATE "C"`` text compares by its UTF-8 bytes, which order as Python compares code points, so
``[p, prefix_end(p))`` holds exactly the keys starting with ``p``.
"""

from __future__ import annotations

_MAX = 0x10FFFF
_SURROGATES = range(0xD800, 0xE000)


def escape(key: str) -> str:
    """``key`` as text PostgreSQL can hold (see the module docstring)."""
    if "\x00" in key or "\x01" in key:
        return key.replace("\x01", "\x01\x02").replace("\x00", "\x01\x01")
    return key


def unescape(stored: str) -> str:
    """The key ``escape`` turned into ``stored``."""
    if "\x01" not in stored:
        return stored
    out: list[str] = []
    chars = iter(stored)
    for char in chars:
        if char == "\x01":
            out.append("\x00" if next(chars, "\x02") == "\x01" else "\x01")
        else:
            out.append(char)
    return "".join(out)


def prefix_end(prefix: str) -> str | None:
    """The smallest string above every string starting with ``prefix`` (``None``: there is none)."""
    stripped = prefix.rstrip(chr(_MAX))
    if not stripped:
        return None
    following = ord(stripped[-1]) + 1
    if following in _SURROGATES:  # not valid text: the next code point is U+E000
        following = _SURROGATES.stop
    return stripped[:-1] + chr(following)
