import Synchronization

/// A clock that only moves when told to: the simulator's time.
///
/// Sleepers wait on deadlines in a heap; ``advanceToNextDeadline()`` jumps to the earliest one and
/// wakes every sleeper due then, in the order they went to sleep, so a run is the same every time.
/// ``SimulationRunLoop`` calls it whenever no task can make progress, which is how a ten-minute
/// bring-up runs in milliseconds.
public final class VirtualClock: TimeSource {
    private struct Sleeper {
        var deadline: Duration
        var sequence: UInt64
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now: Duration
        var sequence: UInt64 = 0
        /// Kept sorted by (deadline, sequence); the counts here are small enough that insertion
        /// by binary search beats a heap's constant factors.
        var sleepers: [Sleeper] = []
    }

    private let state: Mutex<State>

    public init(now: Duration = .zero) {
        state = Mutex(State(now: now))
    }

    public var now: Duration { state.withLock { $0.now } }

    /// The earliest deadline anyone waits for.
    public var nextDeadline: Duration? { state.withLock { $0.sleepers.first?.deadline } }

    public func sleep(for duration: Duration) async throws {
        try Task.checkCancellation()
        let id: UInt64 = state.withLock { state in
            state.sequence += 1
            return state.sequence
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                state.withLock { state in
                    let sleeper = Sleeper(deadline: state.now + max(duration, .zero), sequence: id, continuation: continuation)
                    var low = 0
                    var high = state.sleepers.count
                    while low < high {
                        let mid = (low + high) / 2
                        let other = state.sleepers[mid]
                        if (other.deadline, other.sequence) < (sleeper.deadline, sleeper.sequence) { low = mid + 1 } else { high = mid }
                    }
                    state.sleepers.insert(sleeper, at: low)
                }
            }
        } onCancel: {
            let cancelled: Sleeper? = state.withLock { state in
                guard let index = state.sleepers.firstIndex(where: { $0.sequence == id }) else { return nil }
                return state.sleepers.remove(at: index)
            }
            cancelled?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Moves time to the earliest deadline and wakes the sleepers due. Returns false when nobody sleeps.
    @discardableResult
    public func advanceToNextDeadline() -> Bool {
        let due: [Sleeper] = state.withLock { state in
            guard let first = state.sleepers.first else { return [] }
            state.now = max(state.now, first.deadline)
            let count = state.sleepers.prefix { $0.deadline <= state.now }.count
            let due = Array(state.sleepers.prefix(count))
            state.sleepers.removeFirst(count)
            return due
        }
        for sleeper in due { sleeper.continuation.resume() }
        return !due.isEmpty
    }

    /// Moves time forward by `duration`, waking everyone due on the way. For tests that drive time by hand.
    public func advance(by duration: Duration) {
        let target = now + duration
        while let deadline = nextDeadline, deadline <= target { advanceToNextDeadline() }
        state.withLock { $0.now = max($0.now, target) }
    }
}
