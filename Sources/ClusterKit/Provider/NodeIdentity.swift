/// What a node is in the cluster: role of its machine.
public enum NodeRole: String, Sendable, Hashable, Codable, CaseIterable {
    case controlPlane = "controlplane"
    case worker
}

/// The identity a provider records on each machine it creates (Hetzner labels, libvirt domain
/// metadata, Proxmox tags, simulator state), so the inventory is read back from the provider and
/// there is no local state file to drift.
public struct NodeIdentity: Sendable, Hashable, Codable {
    public var cluster: String
    public var pool: String
    public var role: NodeRole
    /// Deterministic node name, `<cluster>-<pool>-<index>`; also the machine's hostname.
    public var node: String

    public init(cluster: String, pool: String, role: NodeRole, node: String) {
        self.cluster = cluster
        self.pool = pool
        self.role = role
        self.node = node
    }

    /// The node's index inside its pool, parsed back from its name (`home-cp-2` -> 2).
    public var index: Int? {
        let prefix = "\(cluster)-\(pool)-"
        guard node.hasPrefix(prefix) else { return nil }
        return Int(node.dropFirst(prefix.count))
    }

    public static func nodeName(cluster: String, pool: String, index: Int) -> String {
        "\(cluster)-\(pool)-\(index)"
    }
}
