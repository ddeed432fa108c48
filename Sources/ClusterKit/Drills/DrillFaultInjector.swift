/// Breaks the cluster the way a scenario says: the seam the provider's power control plugs into.
///
/// Real backends power the node off through their provider (the `power` work on the provider
/// seam); the simulator fails the machine. `lose-controlplane`, `lose-worker` and
/// `move-ingress-ip` all come down to powering one node off; what differs is which node the
/// runner picks and which repair follows.
public protocol DrillFaultInjector: Sendable {
    /// Powers `machine` off. Returns a line for the report (`powered off home-big-2`).
    func powerOff(_ machine: ObservedMachine, scenario: DrillSpec.Scenario) async throws -> String
}
