/// How one node ended up after `up`.
public struct NodeOutcome: Sendable, Hashable, Codable {
    public enum State: String, Sendable, Hashable, Codable {
        /// Ready in Kubernetes.
        case ready
        /// Stopped on purpose at `--until`; the node is as far as that stage takes it.
        case stopped
        /// A permanent failure stopped this node's work.
        case failed
        case deleted
    }

    public var node: String
    public var state: State
    /// The failure, naming the step and the cause.
    public var message: String?

    public init(node: String, state: State, message: String? = nil) {
        self.node = node
        self.state = state
        self.message = message
    }
}

/// What `up` did.
public struct ExecutionReport: Sendable, Codable {
    public var cluster: String
    public var nodes: [NodeOutcome]
    /// Cluster-wide failures (image builds, Flux, health), by subject.
    public var failures: [String: String]
    public var bootstrappedOn: String?
    public var gitopsInstalled: Bool
    public var stoppedAfter: Stage?
    public var elapsed: Duration
    public var healthy: Bool

    public init(cluster: String, nodes: [NodeOutcome], failures: [String: String], bootstrappedOn: String?, gitopsInstalled: Bool, stoppedAfter: Stage?, elapsed: Duration, healthy: Bool) {
        self.cluster = cluster
        self.nodes = nodes
        self.failures = failures
        self.bootstrappedOn = bootstrappedOn
        self.gitopsInstalled = gitopsInstalled
        self.stoppedAfter = stoppedAfter
        self.elapsed = elapsed
        self.healthy = healthy
    }

    public var succeeded: Bool { failures.isEmpty && nodes.allSatisfy { $0.state != .failed } }
}
