/// The stages of `up`, in order. `--until STAGE` stops cleanly after one.
public enum Stage: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
    /// Talos images present on every provider the spec uses.
    case images
    /// Every machine created and running.
    case machines
    /// Configs applied, etcd bootstrapped once, every node Ready in Kubernetes.
    case bootstrap
    /// Flux installed and pointed at the GitOps path.
    case gitops
    /// The final health check.
    case health

    private var rank: Int {
        switch self {
        case .images: 0
        case .machines: 1
        case .bootstrap: 2
        case .gitops: 3
        case .health: 4
        }
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rank < rhs.rank }
}

/// Something the executor did, for live progress and `--output json` event lines.
public struct ExecutionEvent: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable {
        case started, progress, retrying, succeeded, failed
    }

    /// Time since the run started (virtual under the simulator).
    public var elapsed: Duration
    public var stage: Stage
    /// The node, or nil for cluster-wide work; provider-wide work names the provider here.
    public var subject: String?
    public var kind: Kind
    public var message: String

    public init(elapsed: Duration, stage: Stage, subject: String?, kind: Kind, message: String) {
        self.elapsed = elapsed
        self.stage = stage
        self.subject = subject
        self.kind = kind
        self.message = message
    }
}

/// Receives events as they happen; must be cheap and must not block.
public typealias ExecutionEventSink = @Sendable (ExecutionEvent) -> Void
