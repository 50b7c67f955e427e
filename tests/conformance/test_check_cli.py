"""`sessionkv check URL` / `--factory MODULE:CALLABLE`: the suite on a store, a report grouped by area.

Exit 0 only if certified, 1 on a contract violation, 2 (one line on stderr, no report) when the
suite cannot run.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from servers.availability import server_unavailable
from servers.process import find_binary, free_port
from servers.redis_process import start_redis
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
        "stranger": start_check("--factory", "strangers:published_store", "--json"),
        "stranger-text": start_check("--factory", "strangers:published_store", "-k", "touch_returns"),
        "stranger-glob": start_check("--factory", "strangers:glob_store", "--json"),
        "listing-indexed": start_check("--factory", "strangers:indexed_store", "-k", "listing_a_directory"),
        "listing-uncounted": start_check(
            "--factory", "strangers:uncounted_indexed_store", "--json", "-k", "listing_a_directory"
        ),
        "listing-scanning": start_check("--factory", "strangers:scanning_store", "-k", "listing_a_directory"),
        "unprefixed": start_check("--factory", "strangers:unprefixed_store", "--json", "-k", "namespace"),
        "unprefixed-whole": start_check("--factory", "strangers:unprefixed_store"),
        "not-a-store": start_check("--factory", "strangers:not_a_store"),
        "no-module": start_check("--factory", "no_such_module_here:make"),
        "unreachable": start_check(f"redis://127.0.0.1:{free_port()}/0"),
        "no-pytest": start_check("memory://", prelude="sys.modules['pytest'] = None"),
    }
    if importlib.util.find_spec("sessionkv_sqlite") is not None:
        runs["sqlite"] = start_check(f"sqlite://{tmp_path_factory.mktemp('sqlite')}/certify.db")
    results = {}
    for name, proc in runs.items():
        out, err = proc.communicate(timeout=600)
        results[name] = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    return results


def one_line_error(result: Result) -> str:
    """The single stderr line of a run that could not certify (exit 2, no report)."""
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("sessionkv: error: ")
    return lines[0]


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
    assert report.startswith("sessionkv conformance report\ntarget: URL memory://check-cli\n"), "report not first"
    assert out.stderr == "", "other plugins' warnings must not open or precede the report"


def test_check_certifies_the_out_of_tree_sqlite_example(checks: dict[str, Result]) -> None:
    if "sqlite" not in checks:
        pytest.fail(f"the example backend is not installed; run: {SQLITE_INSTALL}", pytrace=False)
    out = checks["sqlite"]
    assert out.returncode == 0, out.stdout + out.stderr
    assert "store:  sessionkv_sqlite.store.SQLiteStore (sessionkv.SessionKVStore subclass)" in out.stdout
    assert out.stdout.rstrip().splitlines()[-1].startswith("CERTIFIED: ")


def test_check_fails_a_broken_backend_and_names_the_test(checks: dict[str, Result]) -> None:
    out = checks["broken"]
    assert out.returncode == 1, out.stdout + out.stderr
    assert "  FAIL     test_keys_prefix_is_literal_not_glob\n" in out.stdout
    assert "keys('a*') is not a literal prefix" in out.stdout
    assert out.stdout.rstrip().splitlines()[-1].startswith("NOT CERTIFIED: ")
    violations = out.stdout.split("contract violations: 1\n", 1)[1]
    # the rewritten assert: both sides of the comparison, then where (the test's own line first)
    assert "assert ['a%e', 'a*b', 'a.g', 'a?c', 'aXb', 'a[x]'," in violations
    assert "== ['a*b']" in violations
    assert "at sessionkv_conformance/area_listing.py:" in violations


def test_check_json_report(checks: dict[str, Result]) -> None:
    out = checks["json"]
    assert out.returncode == 3, out.stdout + out.stderr  # a -k subset: nothing failed, never certified
    report = json.loads(out.stdout)
    assert report["certified"] is False
    assert report["exit_status"] == 3 and report["complete"] is False
    total = len(report["results"]) + report["deselected"]
    assert total > 70
    assert report["exceptions"] == [f"subset run: 2 of {total} tests (-k); the rest was not run"]
    assert report["verdict"].startswith("NOT CERTIFIED (no violation, but incomplete: subset run: 2 of ")
    outcomes = {r["name"]: (r["area"], r["outcome"]) for r in report["results"]}
    assert outcomes == {
        "test_ttl_key_gone_within_declared_resolution": ("TTL", "pass"),
        "test_value_at_max_value_size_works": ("limits", "adapted"),
    }


def test_check_with_nothing_selected_says_no_test_matches(checks: dict[str, Result]) -> None:
    assert one_line_error(checks["nothing"]) == "sessionkv: error: no test matches -k 'no_test_has_this_name'"


def test_check_certifies_a_stranger_from_a_factory(checks: dict[str, Result]) -> None:
    out = checks["stranger"]
    assert out.returncode == 0, out.stdout + out.stderr
    report = json.loads(out.stdout)
    assert report["certified"] is True
    assert report["target"] == "factory strangers:published_store"
    assert report["backend"] == "strangers.DictSessionKVStore (published interface, wrapped with sessionkv.adapt)"
    notes = report["store_adaptations"]
    assert notes[0].startswith("capabilities: none declared; the suite used the stated defaults StoreCapabilities(")
    assert "touch: not implemented (optional); tested through sessionkv's default" in notes
    # the versioned writes have no default: the header must not claim one (their tests say "nothing to check")
    for name in ("add", "get_versioned", "cas", "delete_if"):
        assert f"{name}: not implemented (optional); not checked (no default exists)" in notes
    versioned = [a["reason"] for a in report["adaptations"] if a["reason"].startswith("add/get_versioned")]
    assert versioned and all("nothing to check" in reason for reason in versioned)
    assert report["violations"] == []
    touch_tests = {a["name"] for a in report["adaptations"] if a["reason"].startswith("touch not implemented")}
    assert touch_tests == {
        "test_touch_returns_missing_keys_and_refreshes_live_ones",
        "test_touch_reports_expired_keys_and_never_revives_them",
        "test_touch_tiny_ttl_rounds_up_not_forever",
    }


def test_check_text_report_separates_what_was_certified_from_adaptations(checks: dict[str, Result]) -> None:
    out = checks["stranger-text"]
    assert out.returncode == 3, out.stdout + out.stderr
    head = out.stdout.split("\n\n", 1)[0].splitlines()
    assert head[:4] == [
        "sessionkv conformance report",
        "target: factory strangers:published_store",
        "store:  strangers.DictSessionKVStore (published interface, wrapped with sessionkv.adapt)",
        "how the suite adapted to the store (not violations):",
    ]
    assert "contract violations: 0\nadaptations (not violations): 1\n" in out.stdout


def test_check_fails_a_defective_stranger_on_its_rule_only(checks: dict[str, Result]) -> None:
    out = checks["stranger-glob"]
    assert out.returncode == 1, out.stdout + out.stderr
    report = json.loads(out.stdout)
    # the one defect breaks both listings: keys(), and items() (sessionkv's default lists with its keys())
    assert sorted(v["name"] for v in report["violations"]) == [
        "test_items_gives_each_live_key_with_its_value",
        "test_keys_prefix_is_literal_not_glob",
    ]
    assert all("assert [" in violation["message"] for violation in report["violations"])


def test_check_reports_the_declared_directory_listing_and_whether_it_was_certified(
    checks: dict[str, Result],
) -> None:
    undeclared = json.loads(checks["stranger"].stdout)
    reason = "declares directory_listing='scan': listing costs the whole store"
    assert undeclared["directory_listing"] == {
        "declared": "scan",
        "certified": False,
        "outcome": "adapted",
        "cost": "",
        "adaptations": [reason],
    }
    assert {"name": "test_listing_a_directory_costs_its_entries", "reason": reason} in undeclared["adaptations"]

    indexed = checks["listing-indexed"]
    assert indexed.returncode == 3, indexed.stdout + indexed.stderr
    line = indexed.stdout.splitlines()[3]
    assert line.startswith("directory listing: 'indexed', certified: keys('calls/c1/') examined "), indexed.stdout
    assert line.endswith("(directories of 5 and 0 keys among 310)")

    uncounted = checks["listing-uncounted"]
    assert uncounted.returncode == 3, uncounted.stdout + uncounted.stderr
    listing = json.loads(uncounted.stdout)["directory_listing"]
    assert (listing["declared"], listing["certified"], listing["outcome"]) == ("indexed", False, "adapted")
    assert listing["adaptations"] == [
        "declares directory_listing='indexed' but keys_examined is None (the store does not count the entries its "
        "listings examine): the listing cost was not checked"
    ]

    scanning = checks["listing-scanning"]
    assert scanning.returncode == 1, scanning.stdout + scanning.stderr
    assert "directory listing: 'indexed', FAILED (see contract violations)\n" in scanning.stdout
    assert "  FAIL     test_listing_a_directory_costs_its_entries\n" in scanning.stdout
    assert "declared directory_listing='indexed' but keys('calls/c1/') examined " in scanning.stdout
    assert "entries for 5 keys among 310 (at most 30 allowed: 2 per key + 20)" in scanning.stdout


def test_check_factory_without_namespace_is_never_certified(checks: dict[str, Result]) -> None:
    out = checks["unprefixed"]
    assert out.returncode == 3, out.stdout + out.stderr
    report = json.loads(out.stdout)
    reasons = {a["name"]: a["reason"] for a in report["adaptations"]}
    assert reasons == {
        "test_keys_empty_prefix_lists_whole_namespace_only": "not checked: that keys('') never lists another "
        "namespace (the store factory takes no namespace, so there is no second namespace on the same server)",
        "test_namespaces_isolate_writes_and_deletes": "not checked: that namespaces isolate writes and deletes "
        "(the store factory takes no namespace, so there is no second namespace on the same server)",
    }
    assert report["certified"] is False and report["exit_status"] == 3
    unchecked = [e for e in report["exceptions"] if e.startswith("not checked: ")]
    assert unchecked == [
        "not checked: that keys('') never lists another namespace (the store factory takes no namespace, so there "
        "is no second namespace on the same server) (test_keys_empty_prefix_lists_whole_namespace_only)",
        "not checked: that namespaces isolate writes and deletes (the store factory takes no namespace, so there "
        "is no second namespace on the same server) (test_namespaces_isolate_writes_and_deletes)",
    ]

    whole = checks["unprefixed-whole"]  # the whole suite, nothing failing: still not certified, in the verdict
    assert whole.returncode == 3, whole.stdout + whole.stderr
    verdict = whole.stdout.rstrip().splitlines()[-1]
    assert verdict.startswith("NOT CERTIFIED (no violation, but incomplete: not checked: that keys('') never "), verdict
    assert "subset run" not in verdict


def test_check_factory_errors_are_one_line(checks: dict[str, Result]) -> None:
    line = one_line_error(checks["not-a-store"])
    assert "object is not a session store: it lacks start, close, set, mset, get, mget, expire, keys, delete" in line
    line = one_line_error(checks["no-module"])
    assert "cannot import 'no_such_module_here' for --factory no_such_module_here:make" in line


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("def make_store(:\n    pass\n", "SyntaxError at "),
        ("raise RuntimeError('the author broke it')\n", "RuntimeError: the author broke it"),
    ],
    ids=["syntax-error", "raises-on-import"],
)
def test_check_factory_module_that_does_not_import_is_one_line_and_exit_2(
    tmp_path: Path, source: str, expected: str
) -> None:
    """The author's module does not compile or raises as it is imported: one line, exit 2, no traceback."""
    (tmp_path / "authors_store.py").write_text(source)
    code = "import sys\nfrom sessionkv.cli import main\nsys.exit(main(['check', '--factory', 'authors_store:make']))"
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    line = one_line_error(out)
    assert line.startswith("sessionkv: error: cannot import 'authors_store' for --factory authors_store:make: ")
    assert expected in line and "Traceback" not in out.stderr


def test_check_unreachable_store_fails_in_one_line_before_any_test(checks: dict[str, Result]) -> None:
    line = one_line_error(checks["unreachable"])
    assert "cannot use URL redis://127.0.0.1:" in line
    assert "Connection refused" in line or "Connect call failed" in line


@pytest.fixture(scope="module")
def redis_with_password() -> Iterator[str]:
    """The URL (without the password) of a redis-server that requires one."""
    if find_binary("redis-server") is None:
        server_unavailable("redis-server not found (apt-get install redis-server)")
    server = start_redis("--requirepass", "right-pw")
    try:
        yield f"redis://{server.host}:{server.port}/0"
    finally:
        server.stop()


def test_check_wrong_password_fails_in_one_line_without_the_password(redis_with_password: str) -> None:
    proc = start_check(redis_with_password.replace("redis://", "redis://:pw-s3cr3t@", 1))
    out, err = proc.communicate(timeout=60)
    line = one_line_error(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    assert "cannot use URL redis://" in line
    assert "pw-s3cr3t" not in out + err


def test_check_without_pytest_prints_the_install_command(checks: dict[str, Result]) -> None:
    line = one_line_error(checks["no-pytest"])
    assert line == (
        'sessionkv: error: `sessionkv check` needs pytest; install it with: pip install "sessionkv[conformance]"'
    )


def test_check_unknown_scheme_is_one_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "nosuchkv://host"]) == 2
    err = capsys.readouterr().err
    assert "no sessionkv backend for scheme 'nosuchkv'" in err


def test_pyargs_without_a_store_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:asyncio", "-p", "no:benchmark"]
    cmd += ["--pyargs", "sessionkv_conformance"]
    out = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert out.returncode == pytest.ExitCode.USAGE_ERROR, out.stdout + out.stderr
    assert "pass --sessionkv-url=SCHEME://... or --sessionkv-factory=MODULE:CALLABLE" in out.stdout + out.stderr
    assert "passed" not in out.stdout and "failed" not in out.stdout
