"""A fresh virtualenv with only the core installed: missing extras named, backends listed, demo runs."""

from __future__ import annotations

import os
import shutil
import subprocess
import venv
from pathlib import Path

import pytest

from servers.availability import in_ci

ROOT = Path(__file__).resolve().parents[2]

COMPILED = "from sessionkv import batch_check; print(batch_check.COMPILED)"

TRY_REDIS = """
import sessionkv
try:
    sessionkv.open_store("redis://:hunter2@localhost")
except sessionkv.MissingExtraError as exc:
    print("MISSING:", exc)
"""


def fresh_install(tmp_path: Path, **env: str) -> Path:
    """A new virtualenv with a copy of this checkout pip-installed (a wheel build); returns its directory."""
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    src = tmp_path / "src"
    ignore = shutil.ignore_patterns(".git", ".venv*", "*.egg-info", "__pycache__", ".*cache", "*.so", "*.pyd", "build")
    shutil.copytree(ROOT, src, ignore=ignore)
    python = env_dir / "bin" / "python"
    done = subprocess.run(
        [python, "-m", "pip", "install", "-v", str(src)], capture_output=True, text=True, env={**os.environ, **env}
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return env_dir


@pytest.mark.slow
def test_core_only_install(tmp_path: Path) -> None:
    env_dir = fresh_install(tmp_path)
    python = env_dir / "bin" / "python"
    compiled = subprocess.run([python, "-c", COMPILED], check=True, capture_output=True, text=True).stdout
    assert compiled.strip() == "True" or not in_ci(), "CI installs with a compiler: the batch check must compile"

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


@pytest.mark.slow
def test_an_install_without_a_compiler_runs_the_plain_check(tmp_path: Path) -> None:
    env_dir = fresh_install(tmp_path, CC="/bin/false")  # what a machine without gcc looks like to mypyc
    python = env_dir / "bin" / "python"
    compiled = subprocess.run([python, "-c", COMPILED], check=True, capture_output=True, text=True).stdout
    assert compiled.strip() == "False"
    demo = subprocess.run([env_dir / "bin" / "sessionkv", "demo"], capture_output=True, text=True, timeout=60)
    assert demo.returncode == 0, demo.stdout + demo.stderr
