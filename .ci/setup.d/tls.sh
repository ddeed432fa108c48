#!/usr/bin/env bash
# TLS servers for the tests of HTTPS clients (Sources/ClusterTestSupport/TLSLoopbackFront.swift):
# socat with OpenSSL terminates TLS in front of the loopback API models (a self-signed Proxmox,
# a Kubernetes API server that requires client certificates); openssl makes and checks certificates.
# Idempotent and non-interactive; runs as root on Debian 12.
set -euo pipefail

need=()
for pkg in socat openssl; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if ((${#need[@]})); then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 "${need[@]}"
fi
socat -V >/dev/null
openssl version >/dev/null
