/// A rendered machine config for one node.
public struct MachineConfig: Sendable, Hashable, CustomStringConvertible, CustomReflectable {
    public var nodeName: String
    public var role: NodeRole
    public var contract: ConfigContract
    /// The documents, `v1alpha1` first.
    public let documents: [YAMLTree]
    /// The config text, documents separated by `---`. Contains secrets: never print it.
    public let yaml: String

    public init(nodeName: String, role: NodeRole, contract: ConfigContract, documents: [YAMLTree]) {
        self.nodeName = nodeName
        self.role = role
        self.contract = contract
        self.documents = documents
        self.yaml = YAMLTree.emitDocuments(documents)
    }

    /// Names the node and size only: a control plane's config holds the cluster's CA keys.
    public var description: String { "MachineConfig(\(nodeName), \(role.rawValue), \(contract.rawValue), \(yaml.utf8.count) bytes)" }

    public var customMirror: Mirror { Mirror(self, children: ["nodeName": nodeName, "role": role, "contract": contract]) }
}
