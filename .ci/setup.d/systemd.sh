#!/usr/bin/env bash
# systemd-analyze for the drill schedule tests (DrillScheduleTests): the rendered units go through
# `systemd-analyze verify` and their OnCalendar= lines through `systemd-analyze calendar`. Only the
# tools are needed, not a running systemd (the CI image has none). Idempotent, non-interactive;
# runs as root on Debian 12.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

if ! command -v systemd-analyze >/dev/null 2>&1; then
    apt-get update -q -o DPkg::Lock::Timeout=600
    apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=600 systemd
fi
systemd-analyze --version | head -n1
