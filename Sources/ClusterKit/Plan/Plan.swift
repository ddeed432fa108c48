/// A node the spec wants: where and how to create it.
public struct NodePlan: Sendable, Hashable, Codable {
    public var identity: NodeIdentity
    public var provider: String
    public var size: MachineSize
    public var location: String?
    public var publicIPv4: Bool

    public init(identity: NodeIdentity, provider: String, size: MachineSize, location: String?, publicIPv4: Bool) {
        self.identity = identity
        self.provider = provider
        self.size = size
        self.location = location
        self.publicIPv4 = publicIPv4
    }
}

/// One change to machines, as `plan` prints it: `+` create, `-` delete, `~` replace.
public enum MachineChange: Sendable, Hashable {
    case create(NodePlan)
    case delete(ObservedMachine, reason: String)
    /// The machine is broken; it is deleted and created again under the same name.
    case replace(ObservedMachine, with: NodePlan, reason: String)

    public var node: String {
        switch self {
        case .create(let plan): plan.identity.node
        case .delete(let machine, _): machine.identity.node
        case .replace(let machine, _, _): machine.identity.node
        }
    }

    public var symbol: String {
        switch self {
        case .create: "+"
        case .delete: "-"
        case .replace: "~"
        }
    }
}

/// What `up` will do to reach the spec from what exists.
public struct Plan: Sendable {
    public var cluster: String
    /// Every node the spec wants after the plan, with its placement; new and existing alike.
    public var desired: [NodePlan]
    public var changes: [MachineChange]
    /// The control-plane node etcd will be bootstrapped on, when the cluster has no etcd yet.
    public var bootstrapNode: String?
    /// Whether Flux will be installed or re-pointed.
    public var installsGitOps: Bool
    /// Differences the plan does not act on (size drift), and pools left alone (provider unreachable).
    public var notes: [String]
    /// Node names more than one machine carries; none of their copies is touched.
    public var duplicates: [DuplicateNode]
    /// Providers whose inventory could not be read; the plan left their pools alone.
    public var unreadableProviders: [String]

    public init(
        cluster: String, desired: [NodePlan], changes: [MachineChange], bootstrapNode: String?, installsGitOps: Bool, notes: [String],
        duplicates: [DuplicateNode] = [], unreadableProviders: [String] = []
    ) {
        self.duplicates = duplicates
        self.unreadableProviders = unreadableProviders
        self.cluster = cluster
        self.desired = desired
        self.changes = changes
        self.bootstrapNode = bootstrapNode
        self.installsGitOps = installsGitOps
        self.notes = notes
    }

    public var creates: Int { changes.filter { if case .create = $0 { true } else { false } }.count }
    public var deletes: Int { changes.filter { if case .delete = $0 { true } else { false } }.count }
    public var replaces: Int { changes.filter { if case .replace = $0 { true } else { false } }.count }

    /// Whether running it changes nothing.
    public var isEmpty: Bool { changes.isEmpty && bootstrapNode == nil && !installsGitOps }

    /// Whether the plan covers the whole cluster: every provider was read and no node name is
    /// held for a person to resolve. An empty plan that is not complete does not mean "in sync".
    public var isComplete: Bool { duplicates.isEmpty && unreadableProviders.isEmpty }

    public var summary: String {
        var text = "Plan: \(creates) to create, \(replaces) to replace, \(deletes) to delete"
        if let bootstrapNode { text += "; bootstrap etcd on \(bootstrapNode)" }
        if installsGitOps { text += "; install Flux" }
        return text + "."
    }
}
