import Foundation
import Synchronization

/// Runs async work on one thread, in a fixed order, against a ``VirtualClock``.
///
/// Every task started under it (child tasks, and default actors they call, per SE-0417 task
/// executor preference) is queued here first-in first-out. When the queue is empty and tasks sleep on
/// the clock, the clock jumps to the next deadline, optionally after a real pause of
/// `(deadline - now) / speed` so a person can watch. The same inputs give the same interleaving, which
/// makes the simulator deterministic for a given seed.
public final class SimulationRunLoop: TaskExecutor, @unchecked Sendable {
    private let queue = Mutex<[UnownedJob]>([])
    private let wakeup = WakeupSignal()
    public let clock: VirtualClock
    /// Virtual seconds per real second; `nil` runs as fast as possible.
    public let speed: Double?

    public init(clock: VirtualClock, speed: Double? = nil) {
        self.clock = clock
        self.speed = speed
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        queue.withLock { $0.append(unowned) }
        wakeup.signal()
    }

    /// Runs `operation` to completion on the calling thread and returns its result.
    public func run<Result: Sendable>(_ operation: @escaping @Sendable () async throws -> Result) throws -> Result {
        let outcome = Mutex<Swift.Result<Result, any Error>?>(nil)
        let task = Task(executorPreference: self) {
            let result: Swift.Result<Result, any Error>
            do { result = .success(try await operation()) } catch { result = .failure(error) }
            outcome.withLock { $0 = result }
        }
        let executor = asUnownedTaskExecutor()
        while true {
            if let job = queue.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) {
                job.runSynchronously(on: executor)
                continue
            }
            if let result = outcome.withLock({ $0 }) {
                _ = task
                return try result.get()
            }
            if let deadline = clock.nextDeadline {
                if let speed, speed > 0 {
                    let pause = (deadline - clock.now) / speed
                    // Work that arrives from another thread (a real transport) cuts the pause short.
                    if wakeup.wait(for: pause) { continue }
                }
                clock.advanceToNextDeadline()
                continue
            }
            // Nothing runnable and nobody sleeping: only another thread can make progress.
            _ = wakeup.wait(for: .seconds(1))
        }
    }
}

/// A binary signal between threads, with a timed wait.
final class WakeupSignal: @unchecked Sendable {
    private let condition = NSCondition()
    private var signalled = false

    func signal() {
        condition.lock()
        signalled = true
        condition.signal()
        condition.unlock()
    }

    /// Waits until signalled or until `duration` passes; returns whether a signal came.
    func wait(for duration: Duration) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        if !signalled { _ = condition.wait(until: Date(timeIntervalSinceNow: duration.inSeconds)) }
        let was = signalled
        signalled = false
        return was
    }
}
