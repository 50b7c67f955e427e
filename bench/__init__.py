"""sessionkv's benchmark report: ``python -m bench`` measures every backend, the registry and the peers in one run.

Every figure is a time ratio against a baseline measured in the same run (see ``bench.ratio``);
the report goes to ``bench/results/latest.md`` and ``latest.png``.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The throwaway-server helpers the tests use (tests/servers/*_process.py) need no pytest: reuse them.
if str(ROOT / "tests") not in sys.path:
    sys.path.insert(0, str(ROOT / "tests"))
