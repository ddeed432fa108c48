/// A fault a drill injected: what it broke, and when (on the backend's clock).
public struct DrillFault: Sendable, Hashable {
    public var scenario: DrillSpec.Scenario
    /// The node powered off (for `move-ingress-ip`: the node holding the ingress IP).
    public var node: String
    /// The provider's ID of the machine that was broken, so a repair can tell it from its replacement.
    public var providerID: String
    public var role: NodeRole
    /// When the drill started and when the fault hit, on the backend's ``TimeSource``.
    public var drillStart: Duration
    public var injectedAt: Duration

    public init(scenario: DrillSpec.Scenario, node: String, providerID: String, role: NodeRole, drillStart: Duration, injectedAt: Duration) {
        self.scenario = scenario
        self.node = node
        self.providerID = providerID
        self.role = role
        self.drillStart = drillStart
        self.injectedAt = injectedAt
    }
}
