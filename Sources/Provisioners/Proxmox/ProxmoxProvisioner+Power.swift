public import ClusterKit

/// Power through the VM status endpoints (Proxmox VE API, `POST /nodes/{node}/qemu/{vmid}/status/stop`:
/// "The qemu process will exit immediately. This is akin to pulling the power plug of a running
/// computer"; `status/start`; `status/reset`), each answering a task UPID that is waited on
/// until it stops with `OK`.
///
/// Proxmox's own rules, which the state read first keeps us clear of: a start of a running VM
/// fails inside its task ("VM <id> already running", PVE::QemuServer vm_start); a reset of a
/// stopped VM is refused before any task ("VM <id> not running", PVE::API2::Qemu vm_reset); a
/// stop of a stopped VM succeeds.
extension ProxmoxProvisioner: PowerCommanding {
    public func powerState(of machine: ObservedMachine) async throws -> PowerState {
        let vmid = try self.vmid(machine)
        let status = try await call(.get, "\(vmPath(machine, vmid))/status/current") as? [String: Any] ?? [:]
        // `status` is the QEMU process: "stopped" or "running" (GET .../status/current).
        switch status["status"] as? String {
        case "running": return .on
        case "stopped": return .off
        default: return .unknown
        }
    }

    /// `status/stop`, `status/start` or `status/reset`, each waited on as a task.
    public func sendPower(_ action: PowerAction, to machine: ObservedMachine) async throws {
        let command = action.command(off: "stop", on: "start", reset: "reset")
        let vmid = try self.vmid(machine)
        try await waitForTask(try await call(.post, "\(vmPath(machine, vmid))/status/\(command)"))
    }

    public var powerSwitch: PowerSwitch { PowerSwitch(time: time, timeout: taskTimeout, interval: .seconds(1)) }

    /// The VM's API path on the Proxmox node that holds it (``ObservedMachine/location``).
    private func vmPath(_ machine: ObservedMachine, _ vmid: Int) -> String {
        "/nodes/\(Self.segment(machine.location ?? settings.node))/qemu/\(vmid)"
    }

    private func vmid(_ machine: ObservedMachine) throws -> Int {
        guard let vmid = Int(machine.providerID) else {
            throw ClusterError(.provider, "\(name): \(machine.providerID) is not a Proxmox VM id")
        }
        return vmid
    }
}
