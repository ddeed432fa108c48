#!/usr/bin/env bash
# Builds clusterctl and brings the example cluster `home` up in the simulator: no cloud account,
# no hypervisor. Run it again to see an idempotent re-run; then try
#   .build/debug/clusterctl node add home --pool big --simulate
#   .build/debug/clusterctl status home --simulate
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-deps.sh
swift build --product clusterctl
exec .build/debug/clusterctl up home --simulate "$@"
