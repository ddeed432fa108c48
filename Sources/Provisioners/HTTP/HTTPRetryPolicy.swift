/// How the one retry loop of ``HTTPClient`` backs off.
///
/// Transient failures (5xx, timeouts, resets) are retried up to ``maxAttempts`` with exponential
/// backoff and full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"). Rate
/// limiting (429) is never counted against the attempts: the client waits as long as the server
/// asks, up to ``maxRateLimitWait`` in total, because a rate limit must not fail a run.
public struct HTTPRetryPolicy: Sendable, Hashable {
    public var maxAttempts: Int
    public var baseDelay: Duration
    public var maxDelay: Duration
    public var maxRateLimitWait: Duration

    public init(
        maxAttempts: Int = 6, baseDelay: Duration = .milliseconds(500), maxDelay: Duration = .seconds(30),
        maxRateLimitWait: Duration = .seconds(3600)
    ) {
        self.maxAttempts = max(1, maxAttempts)
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.maxRateLimitWait = maxRateLimitWait
    }

    /// No retries at all (one attempt), for callers that retry themselves.
    public static let none = HTTPRetryPolicy(maxAttempts: 1, maxRateLimitWait: .zero)

    /// Backoff before attempt `attempt + 1` (attempt counts from 1): a uniformly random delay in
    /// `[base/2, min(max, base * 2^(attempt-1))]`, so concurrent clients spread out.
    public func backoff(afterAttempt attempt: Int, random: inout some RandomNumberGenerator) -> Duration {
        let exponent = min(max(attempt - 1, 0), 20)
        let ceiling = min(maxDelay, baseDelay * (1 << exponent))
        let floor = baseDelay / 2
        guard ceiling > floor else { return ceiling }
        let span = (ceiling - floor).components
        let spanNanos = Double(span.seconds) * 1e9 + Double(span.attoseconds) / 1e9
        return floor + .nanoseconds(Int64(Double.random(in: 0...spanNanos, using: &random)))
    }
}
