public import ClusterKit
import Foundation

/// Power through `virsh` on the host, over the same SSH transport as everything else:
/// `virsh destroy` ("immediately terminate the domain … equivalent of pulling the plug", virsh(1);
/// the domain and its disks stay), `virsh start` and `virsh reset` ("reset a domain immediately
/// without any guest shutdown", virsh(1)). Each returns once libvirt has done it; the state is
/// then read back with `virsh domstate`.
extension LibvirtProvisioner: PowerCommanding {
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

    /// `virsh destroy`, `virsh start` or `virsh reset`; each returns once libvirt has done it.
    public func sendPower(_ action: PowerAction, to machine: ObservedMachine) async throws {
        let verb = action.command(off: "destroy", on: "start", reset: "reset")
        let node = machine.identity.node
        let result = try await shell.run(virshCommand([verb, node]), stdin: nil)
        guard result.exitStatus == 0 else { throw failure(result, "power \(action) of domain \(node) (virsh \(verb))") }
    }

    /// virsh answers when the change is made, so a short interval suffices.
    public var powerSwitch: PowerSwitch { PowerSwitch(time: time, timeout: .seconds(120), interval: .seconds(1)) }
}
