/// Breaks the cluster the way a scenario says: the seam the runner injects its fault through.
///
/// `lose-controlplane`, `lose-worker` and `move-ingress-ip` all come down to powering one node
/// off; what differs is which node the runner picks (for `move-ingress-ip`, the ingress IP's
/// holder) and which repair follows. ``PowerDrillInjector`` does it through the provider's power
/// control, for every backend.
public protocol DrillFaultInjector: Sendable {
    /// Powers `machine` off. Returns a line for the report (`powered off home-big-2`).
    func powerOff(_ machine: ObservedMachine, scenario: DrillSpec.Scenario) async throws -> String
}

/// Powers the target off through its provider's ``PowerControlling`` (Hetzner `poweroff`,
/// Proxmox `status/stop`, `virsh destroy`, the simulator's power switch): the equivalent of
/// pulling the power cord, so the node dies as in a real outage and its disk survives for the
/// way back.
public struct PowerDrillInjector: DrillFaultInjector {
    public let power: NodePowerControl
    public let cluster: String

    public init(power: NodePowerControl, cluster: String) {
        self.power = power
        self.cluster = cluster
    }

    /// The injector for a backend's providers.
    public init(backend: ClusterBackend, cluster: String) {
        self.init(power: NodePowerControl(provisioners: backend.provisioners), cluster: cluster)
    }

    public func powerOff(_ machine: ObservedMachine, scenario: DrillSpec.Scenario) async throws -> String {
        let node = machine.identity.node
        let (located, control) = try await power.locate(node: node, cluster: cluster)
        // The runner picked the machine from an earlier observation: a different machine under
        // the name now (a replacement, a stray copy) is not the one the drill meant to break.
        guard located.providerID == machine.providerID else {
            throw ClusterError(
                .refused, "\(node) is now machine \(located.providerID), not \(machine.providerID) the drill picked; nothing was powered off",
                hint: "run the drill again")
        }
        try await control.powerOff(located)
        let state = try await control.powerState(of: located)
        return "powered off \(node) (\(located.providerID) on \(located.provider)); the provider reports it \(state)"
    }
}
