import ClusterKit
import Foundation
#if canImport(Glibc)
    import Glibc
#endif

/// Ctrl-C and SIGTERM, turned into cancellation of the command's work.
///
/// The first signal cancels the running work; it unwinds (every wait in the executor ends on
/// cancellation), the simulator saves its state, the command prints a word on stderr (and, with
/// `-o json`, closes the stream with its report) and exits 130. Work that does not unwind within
/// ``grace`` is abandoned with the same word and exit code; a second signal exits at once.
final class Interruption: @unchecked Sendable {
    static let shared = Interruption()
    static let exitCode: Int32 = 130
    static let grace: Duration = .seconds(10)

    private let lock = NSLock()
    private var sources: [any DispatchSourceSignal] = []
    private var received: String?
    private var waiters: [UInt64: CheckedContinuation<String, any Error>] = [:]
    private var nextWaiter: UInt64 = 0

    /// The signal that arrived, if one did.
    var signal: String? {
        lock.lock()
        defer { lock.unlock() }
        return received
    }

    /// Starts listening for SIGINT and SIGTERM (idempotent).
    func install() {
        lock.lock()
        defer { lock.unlock() }
        guard sources.isEmpty else { return }
        for (number, name) in [(SIGINT, "SIGINT"), (SIGTERM, "SIGTERM")] {
            Foundation.signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [self] in arrived(name) }
            source.resume()
            sources.append(source)
        }
    }

    private func arrived(_ name: String) {
        lock.lock()
        let first = received == nil
        if first { received = name }
        let woken = waiters
        waiters = [:]
        lock.unlock()
        guard first else {
            Terminal.error("clusterctl: \(name) again; stopping now")
            exit(Self.exitCode)
        }
        // No work in flight (a confirmation prompt, between steps): nothing to unwind.
        guard !woken.isEmpty else {
            Terminal.error(Interrupted(signal: name).description)
            exit(Self.exitCode)
        }
        for (_, waiter) in woken.sorted(by: { $0.key < $1.key }) { waiter.resume(returning: name) }
        DispatchQueue.global().asyncAfter(deadline: .now() + Self.grace.inSeconds) {
            Terminal.error(Interrupted(signal: name).description + " (the work did not stop within \(Self.grace.formattedSeconds))")
            exit(Self.exitCode)
        }
    }

    /// Returns when a signal arrives; cancelling the waiting task ends the wait.
    func wait() async throws -> String {
        let id: UInt64 = {
            lock.lock()
            defer { lock.unlock() }
            nextWaiter += 1
            return nextWaiter
        }()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                lock.lock()
                if let received {
                    lock.unlock()
                    continuation.resume(returning: received)
                } else if Task.isCancelled {
                    lock.unlock()
                    continuation.resume(throwing: CancellationError())
                } else {
                    waiters[id] = continuation
                    lock.unlock()
                }
            }
        } onCancel: {
            lock.lock()
            let waiter = waiters.removeValue(forKey: id)
            lock.unlock()
            waiter?.resume(throwing: CancellationError())
        }
    }
}
