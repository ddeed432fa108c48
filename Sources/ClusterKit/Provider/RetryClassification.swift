/// An error that knows whether trying again may succeed (rate limits, 5xx, timeouts, resets)
/// or not (bad input, quota, authentication). The executor retries only transient ones.
public protocol RetryClassifying: Error {
    var isTransient: Bool { get }
    /// How long the other side asked us to wait (`Retry-After`, rate-limit reset), if it said.
    var retryAfter: Duration? { get }
}

extension RetryClassifying {
    public var retryAfter: Duration? { nil }
}
