#!/usr/bin/env bash
# Installs what the tests need (Debian and PyPI packages, loopback services), builds, runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-deps.sh
for setup in .ci/setup.d/*.sh; do
    [ -e "$setup" ] || continue
    echo "== $setup" >&2
    bash "$setup"
done
swift build --build-tests
swift test --skip-build "$@"
