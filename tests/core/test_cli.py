"""The ``sessionkv`` command line: ``backends`` and error handling."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from sessionkv.cli import COMMANDS, build_parser, main

BUILT_IN = {"memory", "redis", "dynamodb", "memcached", "etcd"}


def test_backends_table_lists_the_five_built_ins(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["backends"]) == 0
    out = capsys.readouterr().out
    header, rule, *rows = out.splitlines()
    assert set(rule) <= {"-", " "}
    assert header.split()[:3] == ["scheme", "package", "installed"]
    schemes = {row.split()[0] for row in rows}
    assert BUILT_IN <= schemes
    memory = next(row for row in rows if row.startswith("memory "))
    assert memory.split()[1:3] == ["sessionkv", "yes"]


def test_backends_json_has_install_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["backends", "--json"]) == 0
    rows = {row["scheme"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["dynamodb"]["install"] == 'pip install "sessionkv[dynamodb]"'
    assert rows["memory"]["installed"] is True


def test_console_script_runs() -> None:
    out = subprocess.run([sys.executable, "-m", "sessionkv.cli", "backends"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "memcached" in out.stdout


def test_every_command_has_help() -> None:
    parser = build_parser()
    help_text = parser.format_help()
    for name in COMMANDS:
        assert name in help_text


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["nope"])
    assert info.value.code == 2
