/// The cluster health check, against explicit node lists.
extension NodeOperations {
    /// What a healthy cluster has: these nodes Ready, exactly these control planes as etcd's voting
    /// members, and Flux ready when the spec has GitOps.
    ///
    /// The lists are explicit because discovery keeps a dead node listed for up to 30 minutes and
    /// `talosctl health` without node flags waits on it (FAILOVER-FACTS.md section 1.6).
    public struct ExpectedHealth: Sendable, Hashable {
        public var nodes: Set<String>
        public var controlPlanes: Set<String>
        public var gitops: Bool

        public init(nodes: Set<String>, controlPlanes: Set<String>, gitops: Bool) {
            self.nodes = nodes
            self.controlPlanes = controlPlanes
            self.gitops = gitops
        }

        /// Every node the plan wants.
        public init(plan: Plan, spec: ClusterSpec) {
            self.init(
                nodes: Set(plan.desired.map(\.identity.node)), controlPlanes: Set(plan.desired.filter { $0.identity.role == .controlPlane }.map(\.identity.node)),
                gitops: spec.gitops != nil)
        }
    }

    /// What is wrong now, as sentences; empty when the cluster matches `expected`.
    public func healthProblems(_ expected: ExpectedHealth) async throws -> [String] {
        var problems: [String] = []
        let nodes = try await retrying(.health, "cluster", "node list") { try await backend.kubernetes.nodes() }
        let ready = Set(nodes.filter(\.ready).map(\.name))
        let notReady = expected.nodes.subtracting(ready).sorted()
        if !notReady.isEmpty { problems.append("not Ready: " + notReady.joined(separator: ", ")) }
        let observed = try await ObservedCluster.observe(spec: spec, backend: backend)
        // Learners do not count: they are promoted once caught up.
        let voters = Set(observed.etcdMembers.filter { !$0.isLearner && !$0.hostname.isEmpty }.map(\.hostname))
        if voters != expected.controlPlanes {
            let missing = expected.controlPlanes.subtracting(voters).sorted()
            let extra = voters.subtracting(expected.controlPlanes).sorted()
            var parts = ["etcd has \(voters.count) voting members, the spec has \(expected.controlPlanes.count) control planes"]
            if !missing.isEmpty { parts.append("not voting: " + missing.joined(separator: ", ")) }
            if !extra.isEmpty { parts.append("unexpected: " + extra.joined(separator: ", ")) }
            problems.append(parts.joined(separator: "; "))
        }
        if expected.gitops, let gitops = spec.gitops {
            let status = try await backend.gitops.status()
            if status?.matches(gitops) != true { problems.append("Flux is not pointed at \(gitops.path)") }
            else if status?.ready != true { problems.append("Flux is not ready yet") }
        }
        return problems
    }

    /// Polls until the cluster matches `expected`, or throws a `timeout` error naming what is
    /// still wrong after `timeout`. `narrowing` may leave out, at each round, what is no longer
    /// worth waiting for; returns what was waited for in the end.
    @discardableResult
    public func waitUntilHealthy(
        _ expected: ExpectedHealth, timeout: Duration = .seconds(600), narrowing narrow: (ExpectedHealth) async throws -> ExpectedHealth = { $0 }
    ) async throws -> ExpectedHealth {
        emit(.health, nil, .started, "checking cluster health")
        let deadline = time.now + timeout
        var problems: [String] = []
        var said: [String] = []
        var current = expected
        repeat {
            current = try await narrow(expected)
            problems = try await healthProblems(current)
            if problems.isEmpty { break }
            // A joining control plane waits minutes for its etcd promotion: say what is awaited,
            // each time it changes.
            if problems != said {
                emit(.health, nil, .progress, "waiting: " + problems.joined(separator: "; "))
                said = problems
            }
            try await time.sleep(for: pollInterval)
        } while time.now < deadline
        guard problems.isEmpty else { throw ClusterError(.timeout, "the cluster is not healthy: " + problems.joined(separator: "; ")) }
        let count = current.controlPlanes.count
        emit(.health, nil, .succeeded, "healthy: \(current.nodes.count) nodes Ready, etcd \(count)/\(count)" + (current.gitops && spec.gitops != nil ? ", Flux ready" : ""))
        return current
    }
}
