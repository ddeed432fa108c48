public import ClusterKit
import Foundation

/// Power through `virsh` on the host, over the same SSH transport as everything else:
/// `virsh destroy` ("immediately terminate the domain … equivalent of pulling the plug", virsh(1);
/// the domain and its disks stay), `virsh start` and `virsh reset` ("reset a domain immediately
/// without any guest shutdown", virsh(1)). Each returns once libvirt has done it; the state is
/// then read back with `virsh domstate`.
extension LibvirtProvisioner: PowerControlling {
    public func powerState(of machine: ObservedMachine) async throws -> PowerState {
        let node = machine.identity.node
        let result = try await shell.run(virshCommand(["domstate", node]), stdin: nil)
        guard result.exitStatus == 0 else {
            if result.stderrText.contains("failed to get domain") || result.stderrText.contains("Domain not found") {
                throw ClusterError(.notFound, "domain \(node) does not exist on libvirt host \(settings.ssh.host)")
            }
            throw failure(result, "reading the state of domain \(node)")
        }
        return Self.powerState(fromDomstate: result.stdoutText)
    }

    /// Maps `virsh domstate` output (libvirt's virDomainState names) to power. A paused or
    /// suspended domain still holds its memory and CPUs: it is on.
    static func powerState(fromDomstate text: String) -> PowerState {
        switch text.trimmingCharacters(in: .whitespacesAndNewlines) {
        case "running", "idle", "blocked", "paused", "pmsuspended": .on
        case "shut off": .off
        case "in shutdown": .transitioning
        default: .unknown
        }
    }

    public func powerOff(_ machine: ObservedMachine) async throws {
        try await powerSwitch.drive(machine.identity.node, to: .off, read: { try await powerState(of: machine) }) {
            try await command("destroy", machine, "powering off domain")
        }
    }

    public func powerOn(_ machine: ObservedMachine) async throws {
        try await powerSwitch.drive(machine.identity.node, to: .on, read: { try await powerState(of: machine) }) {
            try await command("start", machine, "starting domain")
        }
    }

    public func reset(_ machine: ObservedMachine) async throws {
        try await powerSwitch.reset(machine.identity.node, read: { try await powerState(of: machine) }) {
            try await command("reset", machine, "resetting domain")
        }
    }

    /// virsh answers when the change is made, so a short interval suffices.
    var powerSwitch: PowerSwitch { PowerSwitch(time: time, timeout: .seconds(120), interval: .seconds(1)) }

    private func command(_ verb: String, _ machine: ObservedMachine, _ what: String) async throws {
        let node = machine.identity.node
        let result = try await shell.run(virshCommand([verb, node]), stdin: nil)
        guard result.exitStatus == 0 else { throw failure(result, "\(what) \(node)") }
    }
}
