#!/usr/bin/env bash
# The whole test suite on a fresh Debian machine: installs the servers and packages it needs,
# then lints, type-checks and runs every test (real servers, started by the tests themselves).
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages providing the servers the backend tests start (binary -> package).
declare -A SERVERS=([redis-server]="redis-server redis-tools")
missing=()
for bin in "${!SERVERS[@]}"; do
  command -v "$bin" >/dev/null 2>&1 || missing+=(${SERVERS[$bin]})
done
if ((${#missing[@]})); then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

pip_install() { python -m pip install -q --disable-pip-version-check "$@"; }
pip_install -e ".[dev]"
for example in examples/*/pyproject.toml; do
  if [ -e "$example" ]; then pip_install -e "$(dirname "$example")"; fi
done

ruff check .
ruff format --check .
mypy
python -m pytest -n 2 -q -p no:cacheprovider -p no:benchmark "$@"
