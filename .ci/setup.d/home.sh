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
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${need[@]}"
fi

# libvirt's QEMU driver runs guests as libvirt-qemu:kvm; the packages' postinst creates them only
# where systemd-sysusers/adduser ran, so make sure they exist.
getent group kvm >/dev/null || groupadd --system kvm
getent group libvirt >/dev/null || groupadd --system libvirt
getent group libvirt-qemu >/dev/null || groupadd --system libvirt-qemu
getent passwd libvirt-qemu >/dev/null || \
    useradd --system --gid kvm --home-dir /var/lib/libvirt --no-create-home --shell /usr/sbin/nologin libvirt-qemu
mkdir -p /var/log/libvirt/qemu /var/lib/libvirt/images /run/libvirt /var/run/libvirt /run/sshd

# No systemd in CI: start the daemons by hand unless they already answer.
if ! pgrep -x virtlogd >/dev/null; then
    /usr/sbin/virtlogd -d
fi
if ! virsh -c qemu:///system version >/dev/null 2>&1; then
    pgrep -x libvirtd >/dev/null || /usr/sbin/libvirtd -d
    for _ in $(seq 1 60); do
        virsh -c qemu:///system version >/dev/null 2>&1 && break
        sleep 0.5
    done
fi
virsh -c qemu:///system version >/dev/null
echo "home.sh: sshd at $(command -v /usr/sbin/sshd), libvirt ready"
