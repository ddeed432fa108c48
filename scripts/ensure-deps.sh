#!/usr/bin/env bash
# Installs the Debian packages clusterctl builds against, when they are missing.
# Sourced by scripts/up-home.sh and scripts/test.sh; safe to run again.
set -euo pipefail

clusterctl_missing_packages() {
    local missing=()
    for package in "$@"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
    done
    echo "${missing[@]:-}"
}

clusterctl_apt_install() {
    local missing
    missing=$(clusterctl_missing_packages "$@")
    [ -z "$missing" ] && return 0
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    echo "installing Debian packages: $missing" >&2
    $sudo apt-get update -qq
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >&2
}

# The system libraries the package links (Package.swift's system-library targets), and pkg-config
# which finds them.
clusterctl_apt_install pkg-config libcurl4-openssl-dev libssh2-1-dev zlib1g-dev

if ! command -v swift >/dev/null 2>&1; then
    echo "swift is not on PATH: install the Swift toolchain (https://www.swift.org/install/linux/) first" >&2
    exit 1
fi
