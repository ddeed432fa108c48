/// What the generator needs to know about one node.
public struct NodeDescription: Sendable, Hashable {
    public var name: String
    public var role: NodeRole
    /// The pool it belongs to (labels, taints and patches come from it).
    public var pool: String
    /// Addresses known for the node (public and private), added to its certificate SANs.
    public var addresses: [String]
    /// Installer image reference, e.g. from ``ImageFactory/installerImage(platform:schematicID:talosVersion:)``.
    public var installImage: String

    public init(name: String, role: NodeRole, pool: String, addresses: [String], installImage: String) {
        self.name = name
        self.role = role
        self.pool = pool
        self.addresses = addresses
        self.installImage = installImage
    }
}
