"""Kept for old instructions: ``python bench/registry_bench.py`` runs ``python -m bench --only registry``.

It measures heartbeat and get_for_call on every backend.

The measurements live in ``bench/suites/registry.py``; this prints the report instead of only writing it.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from bench.__main__ import main

    with tempfile.TemporaryDirectory() as out:
        code = main(["--only", "registry", "--out", out, *sys.argv[1:]])
        print((Path(out) / "latest.md").read_text(encoding="utf-8"))
    sys.exit(code)
