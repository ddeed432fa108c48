#!/usr/bin/env bash
# etcd for the tests that put a real etcd cluster behind the Talos API peer
# (Tests/ProvisionersTests/EtcdBacked*.swift through Sources/ClusterTestSupport/EtcdTestCluster.swift):
#  - etcd-server: the `etcd` binary (3.4 on Debian 12), three members on loopback per test;
#  - etcd-client: `etcdctl` (member list/add/promote/remove, snapshot save/status/restore).
# The package's postinst tries to start a service; there is no systemd here, so policy-rc.d
# keeps it from starting one: the tests start their own members on random ports.
# Idempotent and non-interactive; runs as root on Debian 12.
set -euo pipefail

if ! command -v etcd >/dev/null 2>&1 || ! command -v etcdctl >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    created_policy=0
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod 0755 /usr/sbin/policy-rc.d
        created_policy=1
    fi
    trap '[[ $created_policy == 1 ]] && rm -f /usr/sbin/policy-rc.d' EXIT
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends etcd-server etcd-client
fi

etcd --version >/dev/null
ETCDCTL_API=3 etcdctl version >/dev/null
