"""Which ``mset`` batch check runs: the mypyc-compiled copy of ``_batch_check`` when it is current.

The install compiles ``_batch_check.py`` as ``_batch_check_compiled`` stamped with the source's
SHA-256 (``scripts/compile_batch_check.py``). The compiled copy is used only while that stamp
matches the source beside it, so after an edit (an editable install keeps the build in the source
tree) the plain source runs until the next install; without a compiler it runs always.
"""

from __future__ import annotations

import hashlib
import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import _batch_check

#: ``plain_triples(items, low, high, max_value)``: see ``_batch_check``.
BatchCheck = Callable[[list[Any], float, float, int], bool]

COMPILED_MODULE = f"{__package__}._batch_check_compiled"


def _current_compiled_check() -> BatchCheck | None:
    """``plain_triples`` of the compiled copy if it exists and was built from the source beside it."""
    try:
        compiled = importlib.import_module(COMPILED_MODULE)
    except ImportError:
        return None
    check: BatchCheck = compiled.plain_triples
    try:
        source = Path(_batch_check.__file__).read_bytes()
    except OSError:  # no source beside it (a zipped or frozen install): trust the build that shipped it
        return check
    stamp = getattr(compiled, "SOURCE_SHA256", None)
    return check if stamp == hashlib.sha256(source).hexdigest() else None


_compiled = _current_compiled_check()

#: True when the mypyc-compiled check runs (the bench report states it: memory://'s mset depends on it).
COMPILED: bool = _compiled is not None
plain_triples: BatchCheck = _compiled if _compiled is not None else _batch_check.plain_triples
