/// Where the executor, providers and simulator read time and sleep.
///
/// Injected everywhere instead of calling a clock directly, so the simulator can run a
/// ten-minute bring-up on a virtual clock in milliseconds (after swift-nio's `NIOEmbedded` and
/// hummingbird's clock-generic actors).
public protocol TimeSource: Sendable {
    /// Time elapsed since this source's origin.
    var now: Duration { get }
    /// Suspends the caller for `duration`; throws `CancellationError` when the task is cancelled.
    func sleep(for duration: Duration) async throws
}

/// Real time, from the monotonic clock.
public struct SystemTimeSource: TimeSource {
    private let origin: ContinuousClock.Instant

    public init() { origin = ContinuousClock.now }

    public var now: Duration { ContinuousClock.now - origin }

    public func sleep(for duration: Duration) async throws {
        try await Task.sleep(for: duration)
    }
}
