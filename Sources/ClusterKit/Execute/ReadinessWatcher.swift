/// Waits for Kubernetes nodes to turn Ready with one shared poll of the node list, however many
/// nodes wait: one request per interval instead of one per node.
///
/// ``run()`` is the poll loop; the executor runs it as a child task beside the node pipelines
/// (structured, so it stays on the caller's executor) and ends it with ``stop()``.
public actor ReadinessWatcher {
    private let kubernetes: any KubernetesAPI
    private let time: any TimeSource
    private let interval: Duration
    private var waiters: [String: [CheckedContinuation<Void, any Error>]] = [:]
    private var stopped = false

    public init(kubernetes: any KubernetesAPI, time: any TimeSource, interval: Duration = .seconds(5)) {
        self.kubernetes = kubernetes
        self.time = time
        self.interval = interval
    }

    /// Waits until the node is Ready. Cancelling the waiting task ends the wait at once: a node
    /// pipeline's timeout cancels it, and its task group can only finish when the wait does.
    public func waitUntilReady(_ node: String) async throws {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                if stopped || Task.isCancelled {
                    continuation.resume(throwing: CancellationError())
                } else {
                    waiters[node, default: []].append(continuation)
                }
            }
        } onCancel: {
            Task { await self.abandon(node, error: CancellationError()) }
        }
    }

    /// Gives up waiting for a node (its pipeline timed out or was cancelled).
    public func abandon(_ node: String, error: any Error) {
        for waiter in waiters.removeValue(forKey: node) ?? [] { waiter.resume(throwing: error) }
    }

    public func stop() { stopped = true }

    public func run() async {
        while !stopped {
            if !waiters.isEmpty { await pollOnce() }
            do { try await time.sleep(for: interval) } catch { break }
        }
        stopped = true
        for (_, list) in waiters { for waiter in list { waiter.resume(throwing: CancellationError()) } }
        waiters = [:]
    }

    private func pollOnce() async {
        do {
            for node in try await kubernetes.nodes() where node.ready {
                for waiter in waiters.removeValue(forKey: node.name) ?? [] { waiter.resume() }
            }
        } catch let error as any RetryClassifying where error.isTransient {
            // The API is down until etcd is up; keep polling through transient errors.
        } catch {
            for (_, list) in waiters { for waiter in list { waiter.resume(throwing: error) } }
            waiters = [:]
        }
    }
}
