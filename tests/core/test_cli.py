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
    assert header.split()[:5] == ["scheme", "package", "client", "installed", "status"]
    schemes = {row.split()[0] for row in rows}
    assert BUILT_IN <= schemes
    memory = next(row for row in rows if row.startswith("memory "))
    assert memory.split()[1:3] == ["sessionkv", "yes"]


def test_backends_json_has_install_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["backends", "--json"]) == 0
    rows = {row["scheme"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["dynamodb"]["install"] == 'pip install "sessionkv[dynamodb]"'
    assert rows["memory"]["installed"] is True
    assert rows["memory"]["status"] == "ready to use"
    assert "ready: implemented in this release" in rows["redis"]["_fields"]


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


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["serve", "memory://", "--port", "99999"], "argument --port: port must be 0-65535, got 99999"),
        (["serve", "memory://", "--port", "http"], "argument --port: 'http' is not a port number"),
        (["serve", "memory://", "--ttl", "0"], "argument --ttl: must be > 0 seconds, got 0"),
        (["demo", "--ttl", "-1"], "argument --ttl: must be > 0 seconds, got -1"),
        (["demo", "--interval", "nan"], "argument --interval: must be > 0 seconds, got nan"),
    ],
)
def test_bad_arguments_are_one_line_usage_errors(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""  # nothing printed before the error (no demo banner)
    assert err.strip().splitlines()[-1].endswith(message)
    assert "Traceback" not in err


def test_demo_with_too_short_a_ttl_fails_before_its_banner(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--ttl", "1", "--interval", "1"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("sessionkv: error: ttl 1 s is too short for maintenance_interval 1 s")
    assert err.count("\n") == 1


def test_process_local_store_is_called_out(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sessions", "memory://"]) == 0
    out, err = capsys.readouterr()
    assert out == "no live sessions\n"
    assert "memory:// lives inside one process" in err


def test_the_library_never_imports_its_command_line() -> None:
    """Layers point one way: only sessionkv.cli imports sessionkv.cli."""
    import pathlib
    import re

    import sessionkv

    root = pathlib.Path(sessionkv.__file__).parent
    offenders = [
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if "cli" not in path.relative_to(root).parts
        and re.search(r"^\s*from \.+cli\b|^\s*import sessionkv\.cli|^\s*from sessionkv\.cli", path.read_text(), re.M)
    ]
    assert offenders == []


def test_subcommands_come_from_entry_points_and_a_broken_one_says_why(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from importlib.metadata import EntryPoint

    import sessionkv.cli as cli

    found = [
        EntryPoint("broken", "no_such_module_for_sessionkv", cli.COMMAND_GROUP),
        EntryPoint("nodes", "no_such_module_either", cli.COMMAND_GROUP),  # a built-in name is never replaced
    ]
    monkeypatch.setattr(cli, "entry_points", lambda group: found if group == cli.COMMAND_GROUP else [])
    assert cli.all_commands()["nodes"] == "sessionkv.cli.nodes" and "broken" in cli.all_commands()
    assert main(["broken", "anything"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'broken' command (no_such_module_for_sessionkv) failed to load" in err, err
    assert main(["backends", "--json"]) == 0  # the other commands still run


def test_check_is_the_conformance_suites_command_found_through_its_entry_point() -> None:
    from importlib.metadata import entry_points

    (check,) = [ep for ep in entry_points(group="sessionkv.commands") if ep.name == "check"]
    assert check.value == "sessionkv_conformance.cli" and "check" not in COMMANDS
