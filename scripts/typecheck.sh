#!/usr/bin/env bash
# mypy cannot follow setuptools' package-dir mapping through an editable install, so this builds
# the import tree the wheel would have (symlinks, rebuilt on every run) and checks that.
set -euo pipefail
cd "$(dirname "$0")/.."
tree=build/typecheck
rm -rf "$tree"
mkdir -p "$tree/sessionwatch"
for entry in sessionwatch/*; do
  ln -s "$PWD/$entry" "$tree/sessionwatch/$(basename "$entry")"
done
for sub in rules renderer enrichers; do
  ln -s "$PWD/$sub" "$tree/sessionwatch/$sub"
done
export MYPYPATH="$PWD/$tree"
.venv/bin/mypy -p sessionwatch
.venv/bin/mypy --explicit-package-bases tests
