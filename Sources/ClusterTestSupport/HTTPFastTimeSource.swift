public import ClusterKit
import Synchronization

/// A virtual clock for tests: `sleep` advances `now` at once (after a yield) instead of waiting,
/// so back-off, polling and rate-limit waits cost no wall time while their durations are still
/// recorded and observable. Shared by the client under test and the model server it talks to.
public final class HTTPFastTimeSource: TimeSource {
    private let state = Mutex<(now: Duration, slept: [Duration])>((.zero, []))

    public init() {}

    public var now: Duration { state.withLock { $0.now } }

    /// Every duration slept, in order.
    public var sleeps: [Duration] { state.withLock { $0.slept } }

    public func advance(by duration: Duration) { state.withLock { $0.now += duration } }

    public func sleep(for duration: Duration) async throws {
        try Task.checkCancellation()
        state.withLock {
            $0.now += duration
            $0.slept.append(duration)
        }
        await Task.yield()
    }
}
