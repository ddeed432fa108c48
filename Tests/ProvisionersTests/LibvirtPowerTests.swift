import ClusterKit
import ClusterTestSupport
import Foundation
import Provisioners
import Testing

/// Power on the real libvirtd with a guest that really boots (Debian's kernel, busybox udhcpc):
/// powered off it holds no address; powered on, or reset, it boots again and asks libvirt's
/// dnsmasq for its lease anew, which shows as a renewed lease expiry.
@Suite(.serialized, .enabled(if: LibvirtTestHost.shouldRun, "libvirt missing: \(LibvirtTestHost.unavailableReason ?? "")"))
struct LibvirtPowerTests {
    /// The expiry libvirt's dnsmasq holds for the lease of `address` (`virsh net-dhcp-leases`).
    static func leaseExpiry(_ address: String) throws -> String? {
        let leases = try LibvirtTestHost.virsh("net-dhcp-leases", LibvirtTestHost.dhcpNetwork)
        for line in leases.split(whereSeparator: \.isNewline) where line.contains(" \(address)/") {
            return line.split(separator: " ", omittingEmptySubsequences: true).prefix(2).joined(separator: " ")
        }
        return nil
    }

    /// Waits until the guest has asked for its lease again since `expiry` was read.
    static func renewed(_ address: String, since expiry: String?) async throws -> Bool {
        for _ in 0..<180 {
            if let now = try leaseExpiry(address), now != expiry { return true }
            try await Task.sleep(for: .seconds(1))
        }
        return false
    }

    @Test(.enabled(if: LibvirtTestHost.dhcpGuestUnavailableReason == nil || ProcessInfo.processInfo.environment["CI"] == "true"))
    func aGuestThatReallyBootsComesBackAfterPowerOffAndReset() async throws {
        if let reason = LibvirtTestHost.dhcpGuestUnavailableReason { Issue.record("\(reason)"); return }
        let host = try LibvirtProvisionerTests.Host()
        defer { host.stop() }
        let provisioner = try host.provisioner(
            network: LibvirtTestHost.dhcpNetwork, image: try LibvirtTestHost.dhcpGuestImage(), addressTimeout: .seconds(180))
        let base = try await provisioner.ensureImage(LibvirtProvisionerTests.imageRequest)
        let machine = try await provisioner.waitUntilRunning(try await provisioner.createMachine(host.request("workers", 1, image: base)))
        let node = machine.identity.node
        let address = try #require(machine.addresses.first)
        let firstLease = try #require(try Self.leaseExpiry(address), "no lease for \(address)")

        // Off: libvirt holds the domain shut off, with its disk; the provider lists it stopped.
        try await provisioner.powerOff(machine)
        #expect(try LibvirtTestHost.virsh("domstate", node).contains("shut off"))
        #expect(try await provisioner.powerState(of: machine) == .off)
        let stopped = try await provisioner.listMachines(cluster: host.cluster).first { $0.identity.node == node }
        #expect(stopped?.phase == .stopped)
        #expect(stopped?.addresses == [])
        #expect(FileManager.default.fileExists(atPath: "\(host.storage)/clusterctl-\(host.cluster)/\(node).qcow2"))

        // On: it boots again and its DHCP client asks for the lease anew (expiry seconds later).
        try await Task.sleep(for: .seconds(2))
        try await provisioner.powerOn(machine)
        #expect(try LibvirtTestHost.virsh("domstate", node).contains("running"))
        #expect(try await Self.renewed(address, since: firstLease), "the guest never asked for its lease after power on")
        let back = try await provisioner.waitUntilRunning(machine)
        #expect(back.addresses.first == address)
        #expect(back.providerID == machine.providerID)

        // Reset: a real reboot, so the lease is asked for once more.
        let beforeReset = try Self.leaseExpiry(address)
        try await Task.sleep(for: .seconds(2))
        try await provisioner.reset(machine)
        #expect(try await provisioner.powerState(of: machine) == .on)
        #expect(try await Self.renewed(address, since: beforeReset), "the guest never asked for its lease after reset")
        try await provisioner.deleteMachine(machine)
    }
}
