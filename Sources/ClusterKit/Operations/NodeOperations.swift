/// The node operations `up`, `node add/remove` and the failover playbooks share: create and
/// converge nodes, remove a node with its etcd member, claim or move the ingress floating IP,
/// and check the cluster's health against an explicit list of nodes.
///
/// Each operation checks what exists before it acts, so a caller that was killed half-way can
/// call it again and it continues where the last call stopped. Transient failures are retried
/// with ``retry``; permanent ones throw a ``ClusterError`` that names the node and the cause.
public struct NodeOperations: Sendable {
    public let spec: ClusterSpec
    public let backend: ClusterBackend
    public let retry: RetryPolicy
    /// How often Talos, etcd and Kubernetes are polled while waiting.
    public let pollInterval: Duration
    /// Receives every step; events are timed from ``start``.
    public let events: ExecutionEventSink
    /// The clock reading events are timed from.
    public let start: Duration

    /// - Parameter start: when the caller's run began on `backend.time`; now when nil.
    public init(
        spec: ClusterSpec, backend: ClusterBackend, retry: RetryPolicy = RetryPolicy(), pollInterval: Duration = .seconds(5),
        start: Duration? = nil, events: @escaping ExecutionEventSink = { _ in }
    ) {
        self.spec = spec
        self.backend = backend
        self.retry = retry
        self.pollInterval = pollInterval
        self.start = start ?? backend.time.now
        self.events = events
    }

    func emit(_ stage: Stage, _ subject: String?, _ kind: ExecutionEvent.Kind, _ message: String) {
        events(ExecutionEvent(elapsed: time.now - start, stage: stage, subject: subject, kind: kind, message: message))
    }

    var time: any TimeSource { backend.time }

    /// Runs `operation`, retrying what its error classifies as transient, and reports each retry.
    func retrying<Result: Sendable>(_ stage: Stage, _ subject: String, _ what: String, _ operation: () async throws -> Result) async throws -> Result {
        try await retry.run(key: "\(subject)/\(what)", time: time, onRetry: { attempt, error, pause in
            emit(stage, subject, .retrying, "\(what): \(oneLine(error)) — retry \(attempt + 1)/\(retry.maxAttempts) in \(pause.formattedSeconds)")
        }, operation)
    }

    /// Deletes the machine at its provider (a machine that is gone already counts as deleted),
    /// through the provider's concurrency limit when one is given.
    public func deleteMachine(_ machine: ObservedMachine, limiter: ConcurrencyLimiter? = nil) async throws {
        let provisioner = try backend.provisioner(machine.provider)
        try await retrying(.machines, machine.identity.node, "delete") {
            guard let limiter else { return try await provisioner.deleteMachine(machine) }
            return try await limiter.run { try await provisioner.deleteMachine(machine) }
        }
    }

    /// Drains the node when it is Ready and deletes its Node object, when the Kubernetes API
    /// answers; a node the API does not list needs nothing. See ``KubernetesAPI/drainAndDelete(node:time:options:)``.
    public func drainAndDeleteKubernetesNode(_ name: String) async throws {
        guard (try? await backend.kubernetes.isAPIServerUp()) == true else { return }
        try await retrying(.machines, name, "drain") { try await backend.kubernetes.drainAndDelete(node: name, time: time) }
    }

    /// Removes a machine the cluster no longer wants: its etcd member first (through a control
    /// plane in `peers` that stays), then its Kubernetes node, then the machine, so quorum
    /// arithmetic stays right. When the member cannot be removed the machine is kept and the
    /// error says why (see ``removeEtcdMember(of:addresses:peers:stopOnRefusal:)``).
    /// - Parameter mayHoldEtcdMember: false only when the node surely has no member (it never
    ///   left maintenance mode).
    public func removeNode(_ machine: ObservedMachine, peers: [ObservedMachine], mayHoldEtcdMember: Bool, limiter: ConcurrencyLimiter? = nil) async throws {
        if machine.identity.role == .controlPlane, mayHoldEtcdMember {
            try await removeEtcdMember(of: machine.identity.node, addresses: machine.addresses, peers: peers)
        }
        try await drainAndDeleteKubernetesNode(machine.identity.node)
        try await deleteMachine(machine, limiter: limiter)
    }
}
