"""examples/conversation: two processes append to one conversation through Documents.update, nothing lost."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "conversation" / "append_turns.py"


@pytest.mark.parametrize("server", ["redis_server", "etcd_server"])
def test_two_processes_lose_no_turn(request: pytest.FixtureRequest, server: str) -> None:
    url = request.getfixturevalue(server).url
    done = subprocess.run(
        [sys.executable, str(SCRIPT), url, "--processes", "2", "--turns", "25"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == "50 turns stored, 50 appended, 0 missing, 0 repeated"
