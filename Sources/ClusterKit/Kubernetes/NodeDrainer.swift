/// Cordons a node and moves its pods off through the Eviction API, the way `kubectl drain
/// --ignore-daemonsets` does (kubectl_drain docs; ../shared/reference/FAILOVER-FACTS.md §3):
///
/// - DaemonSet pods stay (their controller would recreate them on the node at once) and mirror
///   pods stay (the kubelet owns them; evicting does nothing).
/// - Every other pod is evicted, PodDisruptionBudgets respected: a 429 means "not now", so the
///   eviction is retried every ``Options/retryInterval`` (kubectl's own 5 s).
/// - Then it waits until the evicted pods are gone (they terminate after their grace period).
/// - All of it is bounded by ``Options/timeout`` on the injected clock; past it, the error names
///   each pod still there and the budget blocking it.
///
/// Built only on ``KubernetesAPI`` primitives, so the simulator, the real client and any test
/// double drain the same way.
public struct NodeDrainer: Sendable {
    public struct Options: Sendable, Hashable {
        /// How long the whole drain may take. Talos' own drain (`talosctl reset`) gives up after
        /// 5 minutes (siderolabs/talos `pkg/kubernetes/kubernetes.go`, `DrainTimeout`).
        public var timeout: Duration
        /// Pause before retrying evictions a budget refused: kubectl drain's "will retry after 5s".
        public var retryInterval: Duration
        /// Pause between checks while evicted pods terminate.
        public var pollInterval: Duration

        public init(timeout: Duration = .seconds(300), retryInterval: Duration = .seconds(5), pollInterval: Duration = .seconds(1)) {
            self.timeout = timeout
            self.retryInterval = retryInterval
            self.pollInterval = pollInterval
        }
    }

    /// What a finished drain did.
    public struct Report: Sendable, Hashable {
        public var node: String
        /// Pods evicted, `namespace/name`, in eviction order.
        public var evicted: [String]
        /// DaemonSet and mirror pods left on the node, sorted.
        public var skipped: [String]
        /// Evictions a PodDisruptionBudget refused at least once before it allowed them.
        public var blockedAttempts: Int
        public var elapsed: Duration
    }

    public let kubernetes: any KubernetesAPI
    public let time: any TimeSource
    public let options: Options

    public init(kubernetes: any KubernetesAPI, time: any TimeSource, options: Options = Options()) {
        self.kubernetes = kubernetes
        self.time = time
        self.options = options
    }

    /// Cordons `node`, evicts its pods and waits until they are gone.
    /// - Throws: ``ClusterError`` `.timeout` naming the pods left and the budgets blocking them;
    ///   or the API's own non-transient error.
    public func drain(node: String) async throws -> Report {
        let started = time.now
        let deadline = started + options.timeout
        try await kubernetes.setUnschedulable(true, node: node)
        var evicted: [String] = []
        var skipped: Set<String> = []
        var blockedAttempts = 0
        while true {
            var blocked: [String: (budget: String?, message: String)] = [:]
            var remaining: [KubernetesPod] = []
            var lastError: (any Error)?
            do {
                let pods = try await kubernetes.pods(onNode: node)
                for pod in pods where pod.isDaemonSetPod || pod.isMirror { skipped.insert(pod.reference) }
                remaining = pods.filter { !$0.isDaemonSetPod && !$0.isMirror }
                if remaining.isEmpty {
                    return Report(node: node, evicted: evicted, skipped: skipped.sorted(), blockedAttempts: blockedAttempts, elapsed: time.now - started)
                }
                for pod in remaining where !pod.isTerminating {
                    switch try await kubernetes.evict(pod) {
                    case .evicted, .alreadyGone:
                        if !evicted.contains(pod.reference) { evicted.append(pod.reference) }
                    case .blocked(let budget, let message):
                        blocked[pod.reference] = (budget, message)
                        blockedAttempts += 1
                    }
                }
            } catch let error as any RetryClassifying where error.isTransient {
                // An API server restarting mid-drain: keep trying until the deadline.
                lastError = error
            }
            let now = time.now
            guard now < deadline else {
                throw timedOut(node: node, remaining: remaining, blocked: blocked, lastError: lastError)
            }
            try await time.sleep(for: min(blocked.isEmpty ? options.pollInterval : options.retryInterval, deadline - now))
        }
    }

    private func timedOut(
        node: String, remaining: [KubernetesPod], blocked: [String: (budget: String?, message: String)], lastError: (any Error)?
    ) -> ClusterError {
        var reasons: [String] = []
        for pod in remaining.sorted(by: { $0.reference < $1.reference }) {
            if let refusal = blocked[pod.reference] {
                let budget = refusal.budget.map { "PodDisruptionBudget \(pod.namespace)/\($0)" } ?? "a PodDisruptionBudget"
                reasons.append("pod \(pod.reference) is blocked by \(budget) (\(refusal.message))")
            } else if pod.isTerminating {
                reasons.append("pod \(pod.reference) is still terminating")
            } else {
                reasons.append("pod \(pod.reference) is still there")
            }
        }
        if let lastError { reasons.append("the last API call failed: \(lastError)") }
        let hint =
            blocked.isEmpty
            ? "check why the pods do not stop (`kubectl -n <namespace> describe pod <name>`), then run again"
            : "let the budget allow a disruption (scale the workload up, or relax the PodDisruptionBudget), then run again"
        return ClusterError(
            .timeout, "draining node \(node) did not finish within \(options.timeout.formattedSeconds): " + reasons.joined(separator: "; "),
            hint: hint)
    }
}
