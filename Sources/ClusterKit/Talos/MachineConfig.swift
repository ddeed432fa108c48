/// A rendered machine config for one node.
public struct MachineConfig: Sendable, Hashable {
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
}
