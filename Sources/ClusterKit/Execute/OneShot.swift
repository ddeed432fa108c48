/// A value that one task produces once and many tasks await (an image being built while the
/// nodes that clone it wait).
public actor OneShot<Value: Sendable> {
    private var result: Result<Value, any Error>?
    private var waiters: [UInt64: CheckedContinuation<Value, any Error>] = [:]
    private var nextWaiter: UInt64 = 0

    public init() {}

    public func fulfil(_ outcome: Result<Value, any Error>) {
        guard result == nil else { return }
        result = outcome
        for (_, waiter) in waiters.sorted(by: { $0.key < $1.key }) { waiter.resume(with: outcome) }
        waiters = [:]
    }

    /// The value once produced; cancelling the waiting task ends the wait with `CancellationError`.
    public func value() async throws -> Value {
        if let result { return try result.get() }
        nextWaiter += 1
        let id = nextWaiter
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                if Task.isCancelled { continuation.resume(throwing: CancellationError()) } else { waiters[id] = continuation }
            }
        } onCancel: {
            Task { await self.cancelWaiter(id) }
        }
    }

    private func cancelWaiter(_ id: UInt64) {
        waiters.removeValue(forKey: id)?.resume(throwing: CancellationError())
    }
}
