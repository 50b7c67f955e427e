"""Kept for old instructions: ``python bench/redis_bench.py`` runs ``python -m bench --only redis``.

It measures the store vs bare redis.asyncio and the peers.

The measurements live in ``bench/suites/redis.py``; this prints the report instead of only writing it.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from bench.__main__ import main

    with tempfile.TemporaryDirectory() as out:
        code = main(["--only", "redis", "--out", out, *sys.argv[1:]])
        print((Path(out) / "latest.md").read_text(encoding="utf-8"))
    sys.exit(code)
