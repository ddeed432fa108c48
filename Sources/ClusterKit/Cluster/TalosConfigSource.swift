/// Renders nodes' machine configs for the executor from the spec and the cluster's secrets bundle,
/// with the Image Factory installer for each node's platform.
public struct TalosConfigSource: MachineConfigRendering {
    public let renderer: MachineConfigRenderer

    public init(spec: ClusterSpec, secrets: SecretsBundle) {
        renderer = MachineConfigRenderer(spec: spec, secrets: secrets)
    }

    public func description(of node: NodeIdentity, addresses: [String]) -> NodeDescription {
        let spec = renderer.spec
        let provider = spec.pool(named: node.pool).flatMap { spec.provider(named: $0.provider) }
        let installer = ImageFactory.installerImage(
            platform: provider?.imageFactoryPlatform ?? "metal", schematicID: spec.talos.schematicID, talosVersion: spec.talos.version)
        return NodeDescription(name: node.node, role: node.role, pool: node.pool, addresses: addresses, installImage: installer)
    }

    public func render(node: NodeIdentity, addresses: [String], floatingIP: String?) throws -> MachineConfigPayload {
        var renderer = renderer
        renderer.floatingIPAddress = floatingIP
        return MachineConfigPayload(try renderer.render(description(of: node, addresses: addresses)).yaml)
    }
}
