import Synchronization

/// Tasks suspended until someone resumes them, each of which ends at once, on the cancelling
/// thread, when its task is cancelled.
///
/// Actors keep their waiters here rather than in actor state because a cancellation handler
/// cannot enter the actor synchronously: hopping there through a new task let the simulator's
/// clock run on (a node's 15-minute timeout ended the run 20 virtual minutes later) and left the
/// wait to a thread the run loop does not watch. ``wait(key:)`` runs on the caller's actor, so
/// an actor's check-then-wait stays atomic against its other methods.
final class CancellableWaiters<Value: Sendable>: Sendable {
    private struct Waiter {
        var key: String
        var continuation: CheckedContinuation<Value, any Error>
    }

    private struct State {
        var next: UInt64 = 0
        var waiting: [UInt64: Waiter] = [:]
        /// Cancelled before their continuation was registered.
        var cancelledEarly: Set<UInt64> = []
        /// Outcomes delivered to a key nobody waited on yet; the next wait on it takes them.
        var delivered: [String: Result<Value, any Error>] = [:]
    }

    private let state = Mutex(State())

    var isEmpty: Bool { state.withLock { $0.waiting.isEmpty } }

    /// Suspends until ``resume(key:with:)`` or ``resumeAll(with:)`` names this waiter, or its task
    /// is cancelled (`CancellationError`).
    nonisolated(nonsending) func wait(key: String = "") async throws -> Value {
        let id = state.withLock { state in
            state.next += 1
            return state.next
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Value, any Error>) in
                let ready: Result<Value, any Error>? = state.withLock { state in
                    if state.cancelledEarly.remove(id) != nil { return .failure(CancellationError()) }
                    if let outcome = state.delivered.removeValue(forKey: key) { return outcome }
                    state.waiting[id] = Waiter(key: key, continuation: continuation)
                    return nil
                }
                if let ready { continuation.resume(with: ready) }
            }
        } onCancel: {
            let waiter = state.withLock { state in
                guard let waiter = state.waiting.removeValue(forKey: id) else {
                    state.cancelledEarly.insert(id)
                    return nil as Waiter?
                }
                return waiter
            }
            waiter?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Resumes every waiter of `key`, oldest first.
    func resume(key: String, with outcome: Result<Value, any Error>) {
        let due = state.withLock { state in
            let ids = state.waiting.filter { $0.value.key == key }.keys.sorted()
            return ids.compactMap { state.waiting.removeValue(forKey: $0) }
        }
        for waiter in due { waiter.continuation.resume(with: outcome) }
    }

    /// Resumes the waiters of `key`, or keeps the outcome for the next ``wait(key:)`` on it when
    /// nobody waits yet.
    func deliver(key: String, with outcome: Result<Value, any Error>) {
        let due = state.withLock { state in
            let ids = state.waiting.filter { $0.value.key == key }.keys.sorted()
            if ids.isEmpty { state.delivered[key] = outcome }
            return ids.compactMap { state.waiting.removeValue(forKey: $0) }
        }
        for waiter in due { waiter.continuation.resume(with: outcome) }
    }

    /// Drops an outcome kept for `key` that nobody took.
    func forget(key: String) {
        state.withLock { _ = $0.delivered.removeValue(forKey: key) }
    }

    /// Resumes every waiter, oldest first, so a run is the same every time.
    func resumeAll(with outcome: Result<Value, any Error>) {
        let due = state.withLock { state in
            let all = state.waiting.sorted { $0.key < $1.key }.map(\.value)
            state.waiting = [:]
            return all
        }
        for waiter in due { waiter.continuation.resume(with: outcome) }
    }

    /// The keys waited on now.
    var keys: Set<String> { state.withLock { Set($0.waiting.values.map(\.key)) } }
}
