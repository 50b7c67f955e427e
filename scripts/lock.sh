#!/usr/bin/env bash
# Refresh constraints.txt: the exact versions of every package the test and lint toolchain installs.
# Resolves the `dev` extra (all backends, http, test tools, linters) in a throwaway virtualenv with
# the newest releases pip finds, then freezes it. The library's own ranges in pyproject.toml are untouched.
# Usage: bash scripts/lock.sh        (then run bash scripts/test.sh and commit constraints.txt)
set -euo pipefail
cd "$(dirname "$0")/.."
venv=$(mktemp -d)/venv
trap 'rm -rf "$(dirname "$venv")"' EXIT
python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check -U pip
"$venv/bin/python" -m pip install -q --disable-pip-version-check -e ".[dev]"
{
  echo "# Exact versions for the test and lint toolchain; refresh with: bash scripts/lock.sh"
  echo "# Used only by scripts/test.sh (pip install -c constraints.txt); users get pyproject.toml's ranges."
  "$venv/bin/python" -m pip freeze --exclude-editable --disable-pip-version-check | grep -v '^-e ' | LC_ALL=C sort -f
} > constraints.txt
echo "wrote constraints.txt ($(grep -vc '^#' constraints.txt) packages)"
