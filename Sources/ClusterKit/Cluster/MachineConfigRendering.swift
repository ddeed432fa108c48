/// Renders each node's Talos machine config. Backed by the Talos config generator.
public protocol MachineConfigRendering: Sendable {
    /// - Parameters:
    ///   - addresses: the node's own addresses, when known, for its certificate SANs.
    ///   - floatingIP: the address of the floating IP the endpoint names, when it does.
    func render(node: NodeIdentity, addresses: [String], floatingIP: String?) throws -> MachineConfigPayload
}
