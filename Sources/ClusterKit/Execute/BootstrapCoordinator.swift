/// Makes sure etcd is bootstrapped exactly once, on the first control-plane node that can take it.
///
/// Control planes arrive when their Talos is running. The preferred one (first in spec order
/// that has not failed) is told to bootstrap; the others, and the workers, wait until it reports
/// done. If the preferred node fails, the next control plane that arrives takes over; if every
/// control plane fails, the waiters fail with the reason instead of waiting forever.
public actor BootstrapCoordinator {
    public enum Decision: Sendable { case bootstrap, alreadyBootstrapped }

    private var order: [String]
    private let waiters = CancellableWaiters<Void>()
    /// Control planes waiting to hear whether they bootstrap, by node name.
    private let arrivals = CancellableWaiters<Decision>()
    private var arrived: Set<String> = []
    private var bootstrapped: Bool
    private var claimedBy: String?
    private var failures: [String: String] = [:]

    public init(controlPlanes: [String], alreadyBootstrapped: Bool) {
        self.order = controlPlanes
        self.bootstrapped = alreadyBootstrapped
    }

    public var isBootstrapped: Bool { bootstrapped }

    /// The node whose `Bootstrap` call started etcd in this run, if one did (a run that found
    /// etcd already bootstrapped has none).
    public private(set) var bootstrappedBy: String?

    /// Records that `node`'s `Bootstrap` call started etcd.
    public func recordBootstrap(by node: String) { bootstrappedBy = node }

    /// Called by a control plane whose Talos runs. Returns whether it must bootstrap.
    /// Cancelling (a node pipeline's timeout) ends the wait; the node then counts as failed.
    public func arrive(_ node: String) async throws -> Decision {
        if bootstrapped { return .alreadyBootstrapped }
        arrived.insert(node)
        dispatch()
        // `dispatch` may have decided already; `deliver` keeps the decision for this wait.
        return try await arrivals.wait(key: node)
    }

    /// The node that was told to bootstrap reports success.
    public func bootstrapSucceeded() {
        bootstrapped = true
        claimedBy = nil
        for node in arrived.sorted() { arrivals.deliver(key: node, with: .success(.alreadyBootstrapped)) }
        arrived = []
        waiters.resumeAll(with: .success(()))
    }

    /// A control plane will never arrive (or failed while bootstrapping): pass the role on.
    public func nodeFailed(_ node: String, reason: String) {
        failures[node] = reason
        order.removeAll { $0 == node }
        if claimedBy == node { claimedBy = nil }
        if arrived.remove(node) != nil {
            arrivals.resume(key: node, with: .failure(ClusterError(.partialFailure, "\(node) failed before etcd was bootstrapped: \(reason)")))
        }
        arrivals.forget(key: node)
        dispatch()
    }

    /// Waits until the cluster has etcd (workers, Flux); cancelling the waiting task ends the wait.
    public func waitUntilBootstrapped() async throws {
        if bootstrapped { return }
        try checkPossible()
        try await waiters.wait()
    }

    private func checkPossible() throws {
        if order.isEmpty && !bootstrapped {
            let reasons = failures.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: "; ")
            throw ClusterError(.partialFailure, "no control-plane node could bootstrap etcd" + (reasons.isEmpty ? "" : " (\(reasons))"))
        }
    }

    private func dispatch() {
        guard !bootstrapped else { return }
        if order.isEmpty {
            let error: any Error
            do { try checkPossible(); return } catch let caught { error = caught }
            waiters.resumeAll(with: .failure(error))
            return
        }
        guard claimedBy == nil, let preferred = order.first, arrived.remove(preferred) != nil else { return }
        claimedBy = preferred
        arrivals.deliver(key: preferred, with: .success(.bootstrap))
    }
}
