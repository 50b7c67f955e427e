"""A fresh virtualenv with only the core installed: missing extras named, backends listed, demo runs."""

from __future__ import annotations

import shutil
import subprocess
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

TRY_REDIS = """
import sessionkv
try:
    sessionkv.open_store("redis://:hunter2@localhost")
except sessionkv.MissingExtraError as exc:
    print("MISSING:", exc)
"""


@pytest.mark.slow
def test_core_only_install(tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".git", "*.egg-info", "__pycache__", ".*cache"))
    subprocess.run([python, "-m", "pip", "install", "-q", str(src)], check=True, capture_output=True)
    freeze = subprocess.run([python, "-m", "pip", "freeze"], check=True, capture_output=True, text=True).stdout
    assert "redis" not in freeze.lower().replace("sessionkv", "")

    out = subprocess.run([python, "-c", TRY_REDIS], check=True, capture_output=True, text=True).stdout
    assert "MISSING:" in out and 'pip install "sessionkv[redis]"' in out
    assert "hunter2" not in out

    cli = env_dir / "bin" / "sessionkv"
    table = subprocess.run([cli, "backends"], check=True, capture_output=True, text=True).stdout
    rows = {line.split()[0]: line for line in table.splitlines()[2:]}
    assert {"memory", "redis", "dynamodb", "memcached", "etcd"} <= set(rows)
    assert 'pip install "sessionkv[redis]"' in rows["redis"]

    # The README's main job, on the embedded default, with nothing but the core installed.
    demo = subprocess.run([cli, "demo"], capture_output=True, text=True, timeout=60)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "demo complete" in demo.stdout
