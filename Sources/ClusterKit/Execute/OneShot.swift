/// A value that one task produces once and many tasks await (an image being built while the
/// nodes that clone it wait).
public actor OneShot<Value: Sendable> {
    private var result: Result<Value, any Error>?
    private let waiters = CancellableWaiters<Value>()

    public init() {}

    public func fulfil(_ outcome: Result<Value, any Error>) {
        guard result == nil else { return }
        result = outcome
        waiters.resumeAll(with: outcome)
    }

    /// The value once produced; cancelling the waiting task ends the wait with `CancellationError`.
    public func value() async throws -> Value {
        if let result { return try result.get() }
        return try await waiters.wait()
    }
}
