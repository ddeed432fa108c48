import Foundation

/// Carries out a ``Plan``: images, machines, configs, etcd bootstrap, joins, Flux, health.
///
/// Work is a pipeline per node, not a barrier per stage: a node goes from create to Ready as fast
/// as its own steps allow, waiting only on what it truly needs (its provider's image, etcd being
/// bootstrapped). Provider API calls are bounded per provider; transient failures are retried with
/// backoff and jitter; a permanent failure ends that node's pipeline with a message naming the node
/// and the cause while every independent pipeline finishes. Every step checks what exists before
/// acting, so running `up` again after a crash at any point converges without duplicates.
public struct ClusterExecutor: Sendable {
    public struct Options: Sendable {
        /// Stop cleanly after this stage; nil runs through the health check.
        public var until: Stage?
        /// Concurrent create/delete calls per provider.
        public var maxConcurrentCallsPerProvider: Int
        public var retry: RetryPolicy
        /// How often Talos and Kubernetes status is polled.
        public var pollInterval: Duration
        /// How long one node may take from created to Ready.
        public var nodeTimeout: Duration
        /// Re-point a Flux installation that reconciles another URL, branch or path (`up --force`).
        public var forceGitOps: Bool

        public init(until: Stage? = nil, maxConcurrentCallsPerProvider: Int = 10, retry: RetryPolicy = RetryPolicy(), pollInterval: Duration = .seconds(5), nodeTimeout: Duration = .seconds(1800), forceGitOps: Bool = false) {
            self.until = until
            self.forceGitOps = forceGitOps
            self.maxConcurrentCallsPerProvider = maxConcurrentCallsPerProvider
            self.retry = retry
            self.pollInterval = pollInterval
            self.nodeTimeout = nodeTimeout
        }
    }

    public let spec: ClusterSpec
    public let backend: ClusterBackend
    public let options: Options
    public let events: ExecutionEventSink

    public init(spec: ClusterSpec, backend: ClusterBackend, options: Options = Options(), events: @escaping ExecutionEventSink = { _ in }) {
        self.spec = spec
        self.backend = backend
        self.options = options
        self.events = events
    }

    /// Runs the plan. Per-node and cluster-wide failures are in the report; only cancellation throws.
    public func apply(_ plan: Plan, observed: ObservedCluster) async throws -> ExecutionReport {
        let run = Run(executor: self, plan: plan, observed: observed)
        return try await run.execute()
    }

    func wants(_ stage: Stage) -> Bool {
        options.until.map { stage <= $0 } ?? true
    }
}

/// The state of one `apply`: shared helpers the pipelines use.
struct Run: Sendable {
    let executor: ClusterExecutor
    let plan: Plan
    let observed: ObservedCluster
    let start: Duration
    let images: [String: OneShot<ProviderImage>]
    let limiters: [String: ConcurrencyLimiter]
    let coordinator: BootstrapCoordinator
    let watcher: ReadinessWatcher
    /// The floating IP's address when the endpoint is one (nil otherwise), known before configs render.
    let endpointIP = OneShot<String?>()
    /// The node that takes the ingress floating IP when nothing holds it yet.
    let ingressHolder: String?
    /// The node operations this run shares with `node add/remove` and the failover playbooks.
    let operations: NodeOperations
    /// The last state seen of each node, for a timeout that names it.
    let lastSeen = LastSeenStates()

    var backend: ClusterBackend { executor.backend }
    var time: any TimeSource { executor.backend.time }
    var options: ClusterExecutor.Options { executor.options }

    init(executor: ClusterExecutor, plan: Plan, observed: ObservedCluster) {
        self.executor = executor
        self.plan = plan
        self.observed = observed
        self.start = executor.backend.time.now
        let providers = Set(plan.desired.map(\.provider))
        self.images = Dictionary(uniqueKeysWithValues: providers.map { ($0, OneShot<ProviderImage>()) })
        self.limiters = Dictionary(uniqueKeysWithValues: executor.spec.providers.map { ($0.name, ConcurrencyLimiter(limit: executor.options.maxConcurrentCallsPerProvider)) })
        self.coordinator = BootstrapCoordinator(
            controlPlanes: plan.desired.filter { $0.identity.role == .controlPlane }.map(\.identity.node),
            alreadyBootstrapped: observed.etcdBootstrapped)
        self.watcher = ReadinessWatcher(kubernetes: executor.backend.kubernetes, time: executor.backend.time, interval: executor.options.pollInterval)
        let candidates = executor.spec.failover?.ingressIP?.candidatePools ?? []
        self.operations = NodeOperations(
            spec: executor.spec, backend: executor.backend, retry: executor.options.retry, pollInterval: executor.options.pollInterval,
            start: start, events: executor.events)
        self.ingressHolder = candidates.lazy.compactMap { pool in plan.desired.first { $0.identity.pool == pool }?.identity.node }.first
    }

    func emit(_ stage: Stage, _ subject: String?, _ kind: ExecutionEvent.Kind, _ message: String) {
        operations.emit(stage, subject, kind, message)
    }

    func retrying<Result: Sendable>(_ stage: Stage, _ subject: String, _ what: String, _ operation: () async throws -> Result) async throws -> Result {
        try await operations.retrying(stage, subject, what, operation)
    }

    /// Runs `operation`, failing with a timeout error naming `what` if it takes longer than `limit`.
    func withTimeout<Result: Sendable>(_ limit: Duration, _ what: String, _ operation: @escaping @Sendable () async throws -> Result) async throws -> Result {
        try await withThrowingTaskGroup(of: Result?.self) { group in
            group.addTask { try await operation() }
            group.addTask {
                try await time.sleep(for: limit)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else {
                throw ClusterError(.timeout, "\(what) did not finish within \(limit.formattedSeconds)")
            }
            return value
        }
    }

    func execute() async throws -> ExecutionReport {
        let spec = executor.spec
        var outcomes: [NodeOutcome] = []
        var failures: [String: String] = [:]
        var gitopsInstalled = false
        let existing = Dictionary(observed.machines.map { ($0.identity.node, $0) }, uniquingKeysWith: { first, _ in first })
        let replaced: [String: ObservedMachine] = Dictionary(plan.changes.compactMap { change in
            if case .replace(let machine, _, _) = change { (machine.identity.node, machine) } else { nil }
        }, uniquingKeysWith: { first, _ in first })

        try await withThrowingTaskGroup(of: Void.self) { outer in
            outer.addTask { await watcher.run() }
            let results: [RunFinished] = try await withThrowingTaskGroup(of: RunFinished?.self) { group in
                for provider in images.keys.sorted() {
                    group.addTask { await prepare(provider: provider) }
                }
                group.addTask { await resolveEndpoint() }
                if executor.wants(.machines) {
                    for node in plan.desired {
                        let broken = replaced[node.identity.node]
                        let current = broken == nil ? existing[node.identity.node] : nil
                        group.addTask { .node(await converge(node, existing: current, replacing: broken)) }
                    }
                }
                if executor.wants(.gitops), let gitops = spec.gitops {
                    group.addTask { await installGitOps(gitops) }
                }
                var results: [RunFinished] = []
                for try await case let result? in group { results.append(result) }
                return results
            }
            for result in results {
                switch result {
                case .node(let outcome): outcomes.append(outcome)
                case .failure(let subject, let message): failures[subject] = message
                case .gitops(let installed): gitopsInstalled = installed
                }
            }
            if executor.wants(.machines) {
                for change in plan.changes {
                    if case .delete(let machine, let reason) = change {
                        outcomes.append(await remove(machine, reason: reason))
                    }
                }
            }
            await watcher.stop()
            // The poll loop may be asleep; cancelling wakes it so the run ends now, not an interval later.
            outer.cancelAll()
            try await outer.waitForAll()
        }

        var healthy = false
        let failedNodes = outcomes.filter { $0.state == .failed }.map(\.node)
        if !failedNodes.isEmpty || !failures.isEmpty {
            // A health check cannot pass with failed work; say so instead of polling for ten minutes.
            if executor.options.until == nil { emit(.health, nil, .failed, "skipped: earlier steps failed") }
        } else if executor.options.until == nil || executor.options.until == .health {
            do {
                try await checkHealth()
                healthy = true
            } catch {
                failures["health"] = oneLine(error)
                emit(.health, nil, .failed, oneLine(error))
            }
        }
        outcomes.sort { $0.node < $1.node }
        let bootstrappedOn = await coordinator.bootstrappedBy
        return ExecutionReport(
            cluster: spec.name, nodes: outcomes, failures: failures, bootstrappedOn: bootstrappedOn, gitopsInstalled: gitopsInstalled,
            stoppedAfter: executor.options.until, elapsed: time.now - start, healthy: healthy)
    }
}

/// An error as one line for progress output: the message, then the hint in parentheses.
func oneLine(_ error: any Error) -> String {
    // A deadline or a signal cancels every step at once; Swift's own description of that is
    // `CancellationError()`, which tells the reader nothing.
    if error is CancellationError { return "stopped before it finished: the command was cancelled" }
    if let error = error as? ClusterError {
        return error.message.replacingOccurrences(of: "\n", with: "; ") + (error.hint.map { " (hint: \($0))" } ?? "")
    }
    return "\(error)".replacingOccurrences(of: "\n  hint: ", with: " (hint: ").replacingOccurrences(of: "\n", with: "; ")
}

extension Duration {
    /// `12.3s`, `4m05s`: for progress lines.
    public var formattedSeconds: String {
        let total = inSeconds
        if total < 60 { return String(format: "%.1fs", total) }
        let minutes = Int(total) / 60
        let seconds = Int(total) % 60
        return "\(minutes)m\(seconds < 10 ? "0" : "")\(seconds)s"
    }
}
