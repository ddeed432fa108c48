#!/usr/bin/env bash
# GitOps tests (issue 10): the real git CLI (with git-shell) that clusterctl runs to bootstrap the
# Flux repository, and OpenSSH (client for git's transport, server for the loopback Git host in
# Sources/ClusterTestSupport/GitTestServer.swift). python3 jsonschema/PyYAML for the CRD checks
# come from talos.sh. Idempotent and non-interactive; runs as root on Debian 12 without systemd.
(
    set -euo pipefail
    export DEBIAN_FRONTEND=noninteractive

    need=()
    for pkg in git openssh-client openssh-server; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
    done
    if [ "${#need[@]}" -gt 0 ]; then
        apt-get -o DPkg::Lock::Timeout=600 update -qq
        apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need[@]}"
    fi
    mkdir -p /run/sshd
    for tool in /usr/bin/git /usr/bin/git-shell /usr/bin/ssh /usr/sbin/sshd /usr/bin/ssh-keygen; do
        [ -x "$tool" ] || { echo "gitops.sh: $tool still missing" >&2; exit 1; }
    done
    echo "gitops.sh: $(git --version), $(ssh -V 2>&1)"
) || { echo "gitops.sh: setup failed" >&2; return 1 2>/dev/null || exit 1; }
