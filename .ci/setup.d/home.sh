#!/usr/bin/env bash
# Setup for the home-hypervisor tests (issue 5): a real OpenSSH server binary for the SSH
# transport tests, and libvirt with the QEMU driver under software emulation (TCG) for the
# libvirt provider tests. Idempotent, non-interactive, runs as root on Debian 12 without systemd.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

need=()
for pkg in libssh2-1-dev openssh-server openssh-client libvirt-daemon-system libvirt-clients \
           qemu-system-x86 qemu-utils genisoimage; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ "${#need[@]}" -gt 0 ]; then
    apt-get update -q -o DPkg::Lock::Timeout=600
    apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=600 "${need[@]}"
fi

# libvirt's QEMU driver runs guests as libvirt-qemu:kvm; the packages' postinst creates them only
# where systemd-sysusers/adduser ran, so make sure they exist.
getent group kvm >/dev/null || groupadd --system kvm
getent group libvirt >/dev/null || groupadd --system libvirt
getent group libvirt-qemu >/dev/null || groupadd --system libvirt-qemu
getent passwd libvirt-qemu >/dev/null || \
    useradd --system --gid kvm --home-dir /var/lib/libvirt --no-create-home --shell /usr/sbin/nologin libvirt-qemu
mkdir -p /var/log/libvirt/qemu /var/lib/libvirt/images /run/libvirt /var/run/libvirt /run/sshd

# Where /dev/kvm is root-only (containers, sandboxes), libvirtd finds KVM unusable for the
# libvirt-qemu user and re-probes QEMU's capabilities on every define (about 30 s each). On this
# throwaway test host guests run as root instead, which keeps the capabilities cache valid.
restart_libvirtd=no
if [ -e /dev/kvm ] && ! su -s /bin/sh libvirt-qemu -c 'test -r /dev/kvm -a -w /dev/kvm' 2>/dev/null; then
    if ! grep -q '^user = "root"' /etc/libvirt/qemu.conf; then
        printf '\n# clusterctl CI (.ci/setup.d/home.sh)\nuser = "root"\ngroup = "root"\n' >> /etc/libvirt/qemu.conf
        restart_libvirtd=yes
    fi
fi
if [ "$restart_libvirtd" = yes ] && [ -f /run/libvirtd.pid ]; then
    old_pid="$(cat /run/libvirtd.pid)"
    if kill -0 "$old_pid" 2>/dev/null; then
        kill "$old_pid"
        for _ in $(seq 1 80); do kill -0 "$old_pid" 2>/dev/null || break; sleep 0.25; done
    fi
fi

# No systemd in CI: start the daemons by hand unless they already answer.
if ! pgrep -x virtlogd >/dev/null; then
    /usr/sbin/virtlogd -d
fi
if ! virsh -c qemu:///system version >/dev/null 2>&1; then
    { [ -f /run/libvirtd.pid ] && kill -0 "$(cat /run/libvirtd.pid)" 2>/dev/null; } || /usr/sbin/libvirtd -d
    for _ in $(seq 1 60); do
        virsh -c qemu:///system version >/dev/null 2>&1 && break
        sleep 0.5
    done
fi
virsh -c qemu:///system version >/dev/null
echo "home.sh: sshd at $(command -v /usr/sbin/sshd), libvirt ready"
