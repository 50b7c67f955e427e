"""The per-item check of an ``mset`` batch, the one loop of ``sessionkv`` worth compiling.

Plain Python, and the source ``scripts/compile_batch_check.py`` compiles with mypyc at install time
when a C compiler is at hand (``batch_check`` picks which one runs). Interpreted, the exact-type
checks cost more than writing the items to a dict; compiled, they cost a third of it, which is what
keeps ``memory://``'s ``mset`` within 2x of a bare dict (``python -m bench --only memory``).
Imports nothing, so the compiled copy stands alone.
"""

from typing import Any


def plain_triples(items: list[Any], low: float, high: float, max_value: int) -> bool:
    """True when every item is a ``(str, bytes, float)`` tuple with nothing the full checks would change.

    Exact types only (a subclass, a ``bytearray`` or an ``int`` ttl goes the slow way, which converts
    it), a non-empty key, ``0 < ttl`` and ``low <= ttl < high`` (NaN fails; infinity too, with
    ``high=inf``), and no value over ``max_value`` bytes (``-1``: no limit). Key encodings and key
    sizes are the caller's checks.
    """
    for item in items:
        if type(item) is not tuple or len(item) != 3:
            return False
        key, value, ttl = item
        if type(key) is not str or type(value) is not bytes or type(ttl) is not float:
            return False
        seconds: float = ttl  # typed: compiled, the comparisons below are on a C double
        if not key or not (0.0 < seconds and low <= seconds < high):
            return False
        if max_value >= 0 and len(value) > max_value:
            return False
    return True
