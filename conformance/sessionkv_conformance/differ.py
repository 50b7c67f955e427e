"""Bounded descriptions of what differed between a value read back and the value written.

A failure message must say what differed ("65,535 of 4,194,304 bytes", the first differing
offset) without quoting a multi-MiB value: these helpers build such one-line descriptions, and
the tests assert on them (``assert not problem, problem``) instead of comparing large values in
the assert, which pytest would render in full.
"""

from __future__ import annotations

from typing import Any

#: characters of a value quoted in a description
QUOTE = 40


def quoted(value: Any) -> str:
    """``repr(value)`` cut to ``QUOTE`` characters."""
    text = repr(value[:QUOTE] if isinstance(value, (bytes, str)) else value)
    return text if len(text) <= QUOTE + 3 else f"{text[:QUOTE]}..."


def value_problem(got: Any, expected: bytes | None, what: str = "the value") -> str:
    """'' when ``got`` is ``expected`` (bytes, or None for missing); else one bounded line saying what differed."""
    if expected is None:
        return "" if got is None else f"{what}: expected missing (None), got {type(got).__name__} {quoted(got)}"
    if got is None:
        return f"{what}: missing (None) instead of {len(expected):,} bytes"
    if type(got) is not bytes:
        return f"{what}: {type(got).__name__} {quoted(got)}, not bytes ({len(expected):,} bytes were written)"
    if got == expected:
        return ""
    common = min(len(got), len(expected))
    offset = next((i for i in range(common) if got[i] != expected[i]), common)
    if len(got) != len(expected):
        head = f"{what}: {len(got):,} of {len(expected):,} bytes came back"
    else:
        head = f"{what}: {len(got):,} bytes came back altered"
    if offset < common:
        head += f", first difference at offset {offset:,}"
        return f"{head} (got {quoted(got[offset : offset + 8])}, expected {quoted(expected[offset : offset + 8])})"
    return f"{head} (identical for the first {common:,} bytes)"


def values_problem(got: Any, expected: list[bytes | None], what: str = "mget") -> str:
    """'' when the list ``got`` equals ``expected``; else one bounded line about the first position that differs."""
    if not isinstance(got, list):
        return f"{what}: returned {type(got).__name__} {quoted(got)}, not a list"
    if len(got) != len(expected):
        return f"{what}: {len(got)} values for {len(expected)} keys"
    for i, (one, want) in enumerate(zip(got, expected, strict=True)):
        problem = value_problem(one, want, f"{what} position {i}")
        if problem:
            return problem
    return ""
