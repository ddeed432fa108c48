/// A provider that can switch its machines' power: the seam a failover drill injects its fault
/// through ("power a node off"), and the way back ("power it on").
///
/// Every backend conforms (`HetznerProvisioner`, `ProxmoxProvisioner`, `LibvirtProvisioner`,
/// `SimulatedProvisioner`); reach it from any provisioner with `provisioner as? any PowerControlling`.
///
/// Each verb returns only once the provider's own progress signal says it is done (a Hetzner
/// action, a Proxmox task UPID, the libvirt domain state) and the machine reads back in the
/// wanted state. ``powerOff(_:)`` and ``powerOn(_:)`` are idempotent: a machine already in the
/// wanted state is left alone, one in transition is waited for. ``PowerCommanding`` gives
/// backends that shape.
public protocol PowerControlling: Provisioner {
    /// The machine's power as the provider reports it now. Throws `not-found` when it is gone.
    func powerState(of machine: ObservedMachine) async throws -> PowerState

    /// Cuts power at once, without an ACPI shutdown: the equivalent of pulling the power cord
    /// (Hetzner `poweroff`, Proxmox `status/stop`, `virsh destroy`). The disk survives; what the
    /// guest had not written is lost, as in a real outage.
    func powerOff(_ machine: ObservedMachine) async throws

    /// Turns power on. The machine boots from its disk with the config it had; Talos and the
    /// kubelet come up on their own afterwards, which this does not wait for.
    func powerOn(_ machine: ObservedMachine) async throws

    /// Cuts power and restores it at once (a hard reset). A machine that is off is refused
    /// (`refused`): no backend can reset it (Proxmox answers "VM <id> not running", libvirt
    /// "domain is not running"), so power it on instead.
    func reset(_ machine: ObservedMachine) async throws
}

extension PowerControlling {
    /// Runs one ``PowerAction``.
    public func apply(_ action: PowerAction, to machine: ObservedMachine) async throws {
        switch action {
        case .off: try await powerOff(machine)
        case .on: try await powerOn(machine)
        case .reset: try await reset(machine)
        }
    }
}

/// A backend that switches power with one provider command per ``PowerAction``: it says how to
/// read the state and how to send a command, and gets the idempotent verbs of
/// ``PowerControlling`` from ``PowerSwitch``.
public protocol PowerCommanding: PowerControlling {
    /// How long to wait, and how often to read, for this provider.
    var powerSwitch: PowerSwitch { get }

    /// Sends the provider's command for `action` and waits for the provider's own progress signal
    /// (an action, a task, the command's return); ``PowerSwitch`` then reads the state back.
    func sendPower(_ action: PowerAction, to machine: ObservedMachine) async throws
}

extension PowerCommanding {
    public func powerOff(_ machine: ObservedMachine) async throws {
        try await powerSwitch.drive(machine.identity.node, to: .off, read: { try await powerState(of: machine) }) {
            try await sendPower(.off, to: machine)
        }
    }

    public func powerOn(_ machine: ObservedMachine) async throws {
        try await powerSwitch.drive(machine.identity.node, to: .on, read: { try await powerState(of: machine) }) {
            try await sendPower(.on, to: machine)
        }
    }

    public func reset(_ machine: ObservedMachine) async throws {
        try await powerSwitch.reset(machine.identity.node, read: { try await powerState(of: machine) }) {
            try await sendPower(.reset, to: machine)
        }
    }
}
