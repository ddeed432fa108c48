/// Retries transient failures with exponential backoff and full jitter, honouring what the other
/// side asked for (`Retry-After`). Permanent failures go straight through.
public struct RetryPolicy: Sendable, Hashable {
    public var maxAttempts: Int
    public var initialDelay: Duration
    public var maxDelay: Duration

    public init(maxAttempts: Int = 8, initialDelay: Duration = .seconds(1), maxDelay: Duration = .seconds(60)) {
        self.maxAttempts = maxAttempts
        self.initialDelay = initialDelay
        self.maxDelay = maxDelay
    }

    /// The pause before attempt `attempt + 1`: exponential, capped, with jitter drawn from
    /// `key` and the attempt so concurrent retries spread out yet every run is repeatable.
    public func delay(afterAttempt attempt: Int, key: String, requested: Duration?) -> Duration {
        let exponential = min(maxDelay, initialDelay * Int(1 << min(attempt - 1, 20)))
        let fraction = 0.5 + StableHash.unitInterval("\(key)#\(attempt)") / 2
        let jittered = exponential * fraction
        return max(jittered, requested ?? .zero)
    }

    /// Runs `operation`, retrying transient errors; `onRetry` hears each retry before its pause.
    public func run<Result: Sendable>(
        key: String, time: any TimeSource, onRetry: (Int, any Error, Duration) -> Void = { _, _, _ in },
        _ operation: () async throws -> Result
    ) async throws -> Result {
        var attempt = 1
        while true {
            do {
                return try await operation()
            } catch let error as any RetryClassifying where error.isTransient && attempt < maxAttempts {
                let pause = delay(afterAttempt: attempt, key: key, requested: error.retryAfter)
                onRetry(attempt, error, pause)
                try await time.sleep(for: pause)
                attempt += 1
            }
        }
    }
}
