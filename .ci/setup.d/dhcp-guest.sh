#!/usr/bin/env bash
# A tiny guest that really boots and asks for an address, for the libvirt provider tests
# (LibvirtTestHost.dhcpGuestImage): Debian's kernel (linux-image-amd64, unpacked, not installed)
# and an initramfs of busybox-static that loads the virtio NIC driver, runs udhcpc on eth0 and
# sleeps. It is a BIOS-bootable qcow2 disk (syslinux on a FAT volume, written with mtools, no
# mount needed), so the provider boots it the way it boots the Talos nocloud image. Under software
# emulation (TCG) it asks for a lease a few seconds after start; libvirt's default NAT network
# (dnsmasq) answers. Idempotent, non-interactive; runs as root on Debian 12 without systemd.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

bash "$(dirname "$0")/home.sh"

need=()
for pkg in busybox-static syslinux mtools dosfstools cpio dnsmasq-base qemu-utils; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ "${#need[@]}" -gt 0 ]; then
    apt-get update -q -o DPkg::Lock::Timeout=600
    apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=600 "${need[@]}"
fi

# libvirt's default NAT network (192.168.122.0/24, dnsmasq on virbr0) hands out the leases.
if ! virsh -c qemu:///system net-info default >/dev/null 2>&1; then
    virsh -c qemu:///system net-define /usr/share/libvirt/networks/default.xml
fi
if [[ "$(virsh -c qemu:///system net-info default)" =~ Active:\ *yes ]]; then
    # Active in libvirt's records but its dnsmasq gone (every process of an earlier run ended,
    # the bridge left behind): restart the network so leases are handed out again.
    pid="$(cat /run/libvirt/network/default.pid 2>/dev/null || true)"
    if [ -z "$pid" ] || ! grep -qs '^State:[[:space:]]*[^Z]' "/proc/$pid/status"; then
        virsh -c qemu:///system net-destroy default
        virsh -c qemu:///system net-start default
    fi
else
    virsh -c qemu:///system net-start default
fi

out=/var/lib/clusterctl-test/dhcp-guest
image="$out/dhcp-guest.qcow2"
if [ -s "$image" ]; then
    echo "dhcp-guest.sh: $image ready, default network active"
    exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"

# The kernel package the linux-image-amd64 metapackage points at, unpacked only: installing it
# would run initramfs-tools for a kernel this machine never boots.
apt-get update -q -o DPkg::Lock::Timeout=600 >/dev/null
kernel_pkg="$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')"
[ -n "$kernel_pkg" ] || { echo "dhcp-guest.sh: no kernel package behind linux-image-amd64" >&2; exit 1; }
chown _apt "$work" 2>/dev/null || true
apt-get download -q -o DPkg::Lock::Timeout=600 "$kernel_pkg"
dpkg-deb -x ./"$kernel_pkg"_*.deb kernel
vmlinuz="$(ls kernel/boot/vmlinuz-*)"
modules="$(ls -d kernel/lib/modules/*)"

# initramfs: busybox, the virtio-net driver chain in dependency order (Debian builds them as
# modules; each .ko names what it needs in its modinfo "depends="), and /init.
mkdir -p root/bin root/sbin root/proc root/sys root/dev root/run root/modules root/usr/share/udhcpc
cp /bin/busybox root/bin/busybox
for applet in sh mount insmod ip udhcpc sleep echo cat hostname ifconfig route; do
    ln -s busybox "root/bin/$applet"
done
order="virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci failover net_failover virtio_net"
for module in $order; do
    cp "$(find "$modules" -name "$module.ko" | head -n1)" root/modules/
done
cat > root/usr/share/udhcpc/default.script <<'EOF'
#!/bin/sh
# udhcpc calls this with bound/renew: put the leased address on the interface.
case "$1" in
    bound|renew)
        ip addr flush dev "$interface"
        ip addr add "$ip/${mask:-24}" dev "$interface"
        [ -n "$router" ] && ip route add default via "${router%% *}" dev "$interface"
        echo "dhcp-guest: $interface has $ip" > /dev/console
        ;;
esac
exit 0
EOF
chmod 0755 root/usr/share/udhcpc/default.script
cat > root/init <<EOF
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for module in $order; do insmod /modules/\$module.ko; done
hostname dhcp-guest
ip link set lo up
ip link set eth0 up
# Keep asking (a lease can be slow under TCG); background once bound and renew as needed.
udhcpc -i eth0 -x hostname:dhcp-guest -t 30 -T 2 -b -s /usr/share/udhcpc/default.script
while :; do sleep 3600; done
EOF
chmod 0755 root/init
(cd root && find . | cpio -o -H newc --quiet | gzip -9) > initrd.gz

# A FAT volume with syslinux's boot sector: SeaBIOS boots it like any disk.
size_kib=$(( ( $(stat -c %s "$vmlinuz") + $(stat -c %s initrd.gz) ) / 1024 + 4096 ))
truncate -s "${size_kib}K" disk.raw
mkfs.fat -n DHCPGUEST disk.raw >/dev/null
syslinux --install disk.raw
cat > syslinux.cfg <<'EOF'
DEFAULT guest
PROMPT 0
TIMEOUT 0
LABEL guest
    LINUX /vmlinuz
    INITRD /initrd.gz
    APPEND console=ttyS0 quiet panic=5
EOF
mcopy -i disk.raw "$vmlinuz" ::/vmlinuz
mcopy -i disk.raw initrd.gz ::/initrd.gz
mcopy -i disk.raw syslinux.cfg ::/syslinux.cfg

mkdir -p "$out"
qemu-img convert -q -f raw -O qcow2 disk.raw "$image.partial"
mv -f "$image.partial" "$image"
echo "dhcp-guest.sh: built $image from $kernel_pkg, default network active"
