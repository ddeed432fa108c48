public import ClusterKit
public import Foundation

/// The local libvirtd (QEMU driver, software emulation) that libvirt provider tests drive over
/// the loopback sshd; .ci/setup.d/home.sh installs and starts it.
public enum LibvirtTestHost {
    public static let uri = "qemu:///system"

    /// Why libvirt cannot be used here, or nil when `virsh version` answers.
    public static var unavailableReason: String? {
        if let reason = SSHTestServer.unavailableReason { return reason }
        for tool in ["/usr/bin/virsh", "/usr/bin/qemu-img", "/usr/bin/genisoimage"]
        where !FileManager.default.isExecutableFile(atPath: tool) {
            return "\(tool) is missing (run .ci/setup.d/home.sh)"
        }
        if (try? ChildProcess.run("/usr/bin/virsh", ["-c", uri, "version"])) == nil {
            return "libvirtd does not answer on \(uri) (run .ci/setup.d/home.sh)"
        }
        return nil
    }

    /// Runs when libvirt is there, and always in CI, where its absence must fail loudly.
    public static var shouldRun: Bool {
        unavailableReason == nil || ProcessInfo.processInfo.environment["CI"] == "true"
    }

    /// The guest that really boots and asks for an address (`.ci/setup.d/dhcp-guest.sh` builds it):
    /// Debian's kernel and a busybox initramfs running udhcpc, on a BIOS-bootable qcow2.
    public static let dhcpGuestImagePath = "/var/lib/clusterctl-test/dhcp-guest/dhcp-guest.qcow2"
    /// libvirt's NAT network whose dnsmasq hands the guest its lease.
    public static let dhcpNetwork = "default"

    /// Why the DHCP guest cannot be booted here, or nil when it can.
    public static var dhcpGuestUnavailableReason: String? {
        if let reason = unavailableReason { return reason }
        guard FileManager.default.fileExists(atPath: dhcpGuestImagePath) else {
            return "\(dhcpGuestImagePath) is missing (run .ci/setup.d/dhcp-guest.sh)"
        }
        guard let info = try? virsh("net-info", dhcpNetwork), info.range(of: #"Active:\s+yes"#, options: .regularExpression) != nil
        else { return "libvirt network \(dhcpNetwork) is not active (run .ci/setup.d/dhcp-guest.sh)" }
        return nil
    }

    /// The DHCP guest image's path and sha256.
    public static func dhcpGuestImage() throws -> (path: String, sha256: String) {
        let digest = try ChildProcess.run("/usr/bin/sha256sum", [dhcpGuestImagePath]).prefix { !$0.isWhitespace }
        return (dhcpGuestImagePath, String(digest))
    }

    /// A fresh directory libvirt's QEMU can read, for one test's volumes.
    public static func makeStorageDirectory() throws -> String {
        let path = "/var/lib/libvirt/images/clusterctl-test-\(UUID().uuidString.prefix(8).lowercased())"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// A tiny qcow2 disk standing in for the Talos nocloud image; returns its path and sha256.
    public static func makeStandInImage(in directory: URL) throws -> (path: String, sha256: String) {
        let path = directory.appendingPathComponent("stand-in-talos.qcow2").path
        try ChildProcess.run("/usr/bin/qemu-img", ["create", "-q", "-f", "qcow2", path, "64M"])
        let digest = try ChildProcess.run("/usr/bin/sha256sum", [path]).prefix { !$0.isWhitespace }
        return (path, String(digest))
    }

    /// `virsh` on this machine, outside the code under test, to check what really exists.
    @discardableResult
    public static func virsh(_ arguments: String...) throws -> String {
        try ChildProcess.run("/usr/bin/virsh", ["-q", "-c", uri] + arguments)
    }

    /// Removes every domain whose name starts with `prefix` (leftovers of a failed test).
    public static func removeDomains(prefix: String) {
        guard let names = try? virsh("list", "--all", "--name") else { return }
        for name in names.split(whereSeparator: \.isNewline) where name.hasPrefix(prefix) {
            _ = try? virsh("destroy", String(name))
            _ = try? virsh("undefine", String(name))
        }
    }
}
