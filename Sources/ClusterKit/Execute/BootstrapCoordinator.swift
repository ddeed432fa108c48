/// Makes sure etcd is bootstrapped exactly once, on the first control-plane node that can take it.
///
/// Control planes arrive when their Talos is running. The preferred one (first in spec order
/// that has not failed) is told to bootstrap; the others, and the workers, wait until it reports
/// done. If the preferred node fails, the next control plane that arrives takes over; if every
/// control plane fails, the waiters fail with the reason instead of waiting forever.
public actor BootstrapCoordinator {
    public enum Decision: Sendable { case bootstrap, alreadyBootstrapped }

    private var order: [String]
    private var arrived: [String: CheckedContinuation<Decision, any Error>] = [:]
    private var waiters: [UInt64: CheckedContinuation<Void, any Error>] = [:]
    private var nextWaiter: UInt64 = 0
    private var bootstrapped: Bool
    private var claimedBy: String?
    private var failures: [String: String] = [:]

    public init(controlPlanes: [String], alreadyBootstrapped: Bool) {
        self.order = controlPlanes
        self.bootstrapped = alreadyBootstrapped
    }

    public var isBootstrapped: Bool { bootstrapped }

    /// Called by a control plane whose Talos runs. Returns whether it must bootstrap.
    public func arrive(_ node: String) async throws -> Decision {
        if bootstrapped { return .alreadyBootstrapped }
        // Cancelling (a node pipeline's timeout) ends the wait; the node then counts as failed.
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                if Task.isCancelled {
                    continuation.resume(throwing: CancellationError())
                } else {
                    arrived[node] = continuation
                    dispatch()
                }
            }
        } onCancel: {
            Task { await self.cancelArrival(node) }
        }
    }

    private func cancelArrival(_ node: String) {
        arrived.removeValue(forKey: node)?.resume(throwing: CancellationError())
    }

    /// The node that was told to bootstrap reports success.
    public func bootstrapSucceeded() {
        bootstrapped = true
        claimedBy = nil
        for (_, continuation) in arrived { continuation.resume(returning: .alreadyBootstrapped) }
        arrived = [:]
        for (_, waiter) in waiters.sorted(by: { $0.key < $1.key }) { waiter.resume() }
        waiters = [:]
    }

    /// A control plane will never arrive (or failed while bootstrapping): pass the role on.
    public func nodeFailed(_ node: String, reason: String) {
        failures[node] = reason
        order.removeAll { $0 == node }
        if claimedBy == node { claimedBy = nil }
        if let continuation = arrived.removeValue(forKey: node) {
            continuation.resume(throwing: ClusterError(.partialFailure, "\(node) failed before etcd was bootstrapped: \(reason)"))
        }
        dispatch()
    }

    /// Waits until the cluster has etcd (workers, Flux).
    public func waitUntilBootstrapped() async throws {
        if bootstrapped { return }
        try checkPossible()
        nextWaiter += 1
        let id = nextWaiter
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                if Task.isCancelled { continuation.resume(throwing: CancellationError()) } else { waiters[id] = continuation }
            }
        } onCancel: {
            Task { await self.cancelWaiter(id) }
        }
    }

    private func cancelWaiter(_ id: UInt64) {
        waiters.removeValue(forKey: id)?.resume(throwing: CancellationError())
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
            for (_, waiter) in waiters.sorted(by: { $0.key < $1.key }) { waiter.resume(throwing: error) }
            waiters = [:]
            return
        }
        guard claimedBy == nil, let preferred = order.first, let continuation = arrived.removeValue(forKey: preferred) else { return }
        claimedBy = preferred
        continuation.resume(returning: .bootstrap)
    }
}
