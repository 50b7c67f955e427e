"""`sessionkv check URL`: runs the suite on a URL, prints a report grouped by area, exit 0 only if certified."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sessionkv.cli import main

HERE = Path(__file__).parent
SQLITE_INSTALL = "pip install -e examples/sqlite_backend"


Result = subprocess.CompletedProcess[str]


def start_check(*args: str, prelude: str = "") -> subprocess.Popen[str]:
    """Start `sessionkv check ARGS` in a fresh interpreter (after ``prelude``, e.g. registering a backend)."""
    code = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(HERE)!r})
        {prelude}
        from sessionkv.cli import main
        sys.exit(main(["check", *sys.argv[1:]]))
    """)
    cmd = [sys.executable, "-c", code, *args]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture(scope="module")
def checks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Result]:
    """The `sessionkv check` runs these tests read, started together (they are independent)."""
    broken = "from mutants import GlobPrefix; from sessionkv import register_backend; "
    broken += "register_backend('broken', GlobPrefix)"
    runs = {
        "memory": start_check("memory://check-cli"),
        "broken": start_check("broken://", "-k", "keys_", prelude=broken),
        "json": start_check("memory://", "--json", "-k", "ttl_key_gone or max_value_size_works"),
        "nothing": start_check("memory://", "-k", "no_test_has_this_name"),
    }
    if importlib.util.find_spec("sessionkv_sqlite") is not None:
        runs["sqlite"] = start_check(f"sqlite://{tmp_path_factory.mktemp('sqlite')}/certify.db")
    results = {}
    for name, proc in runs.items():
        out, err = proc.communicate(timeout=600)
        results[name] = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    return results


def test_check_certifies_memory_with_report_grouped_by_area(checks: dict[str, Result]) -> None:
    out = checks["memory"]
    assert out.returncode == 0, out.stdout + out.stderr
    report = out.stdout
    for area in ("TTL (", "expire & touch (", "conditional writes (", "batch ops (", "listing (", "delete (",
                 "keys & values (", "bad input (", "limits (", "concurrency (", "model ("):  # fmt: skip
        assert f"\n{area}" in report, f"area {area!r} missing from the report"
    assert "  pass     test_only_if_exists_racing_delete_never_resurrects" in report
    assert "  adapted  test_max_ttl\n           adapted: no max_ttl declared" in report
    assert report.rstrip().splitlines()[-1].startswith("CERTIFIED: ")


def test_check_certifies_the_out_of_tree_sqlite_example(checks: dict[str, Result]) -> None:
    if "sqlite" not in checks:
        pytest.fail(f"the example backend is not installed; run: {SQLITE_INSTALL}", pytrace=False)
    out = checks["sqlite"]
    assert out.returncode == 0, out.stdout + out.stderr
    assert "backend: sessionkv_sqlite.store.SQLiteStore" in out.stdout
    assert out.stdout.rstrip().splitlines()[-1].startswith("CERTIFIED: ")


def test_check_fails_a_broken_backend_and_names_the_test(checks: dict[str, Result]) -> None:
    out = checks["broken"]
    assert out.returncode == 1, out.stdout + out.stderr
    assert "  FAIL     test_keys_prefix_is_literal_not_glob\n" in out.stdout
    assert "keys('a*') is not a literal prefix" in out.stdout
    assert out.stdout.rstrip().splitlines()[-1].startswith("NOT CERTIFIED: ")


def test_check_json_report(checks: dict[str, Result]) -> None:
    out = checks["json"]
    assert out.returncode == 0, out.stdout + out.stderr
    report = json.loads(out.stdout)
    assert report["certified"] is True
    outcomes = {r["name"]: (r["area"], r["outcome"]) for r in report["results"]}
    assert outcomes == {
        "test_ttl_key_gone_within_declared_resolution": ("TTL", "pass"),
        "test_value_at_max_value_size_works": ("limits", "adapted"),
    }


def test_check_with_nothing_selected_is_not_certified(checks: dict[str, Result]) -> None:
    assert checks["nothing"].returncode == 1
    assert "NOT CERTIFIED" in checks["nothing"].stdout


def test_check_unknown_scheme_is_one_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "nosuchkv://host"]) == 2
    err = capsys.readouterr().err
    assert "no sessionkv backend for scheme 'nosuchkv'" in err
