/// Waits for Kubernetes nodes to turn Ready with one shared poll of the node list, however many
/// nodes wait: one request per interval instead of one per node.
///
/// ``run()`` is the poll loop; the executor runs it as a child task beside the node pipelines
/// (structured, so it stays on the caller's executor) and ends it with ``stop()``.
public actor ReadinessWatcher {
    private let kubernetes: any KubernetesAPI
    private let time: any TimeSource
    private let interval: Duration
    private let waiters = CancellableWaiters<Void>()
    private var stopped = false
    /// The last status seen of each node that was waited for.
    private var lastSeen: [String: KubernetesNodeStatus] = [:]
    private var waitedFor: Set<String> = []

    public init(kubernetes: any KubernetesAPI, time: any TimeSource, interval: Duration = .seconds(5)) {
        self.kubernetes = kubernetes
        self.time = time
        self.interval = interval
    }

    /// Waits until the node is Ready. Cancelling the waiting task ends the wait at once: a node
    /// pipeline's timeout cancels it, and its task group can only finish when the wait does.
    public func waitUntilReady(_ node: String) async throws {
        if stopped { throw CancellationError() }
        waitedFor.insert(node)
        try await waiters.wait(key: node)
    }

    /// Gives up waiting for a node (its pipeline timed out or was cancelled).
    public func abandon(_ node: String, error: any Error) {
        waiters.resume(key: node, with: .failure(error))
    }

    public func stop() { stopped = true }

    /// The node's Kubernetes state as last polled (`NotReady (NodeStatusUnknown: ...)`, or not
    /// registered), for a timeout that names it; nil when nobody waited for the node.
    public func lastState(of node: String) -> String? {
        guard waitedFor.contains(node) else { return nil }
        guard let status = lastSeen[node] else { return "Kubernetes has no node \(node) yet" }
        return "Kubernetes node " + (status.ready ? "Ready" : "NotReady") + (status.readyReason.map { " (\($0))" } ?? "")
    }

    public func run() async {
        while !stopped {
            if !waiters.isEmpty { await pollOnce() }
            do { try await time.sleep(for: interval) } catch { break }
        }
        stopped = true
        waiters.resumeAll(with: .failure(CancellationError()))
    }

    private func pollOnce() async {
        do {
            for node in try await kubernetes.nodes() {
                lastSeen[node.name] = node
                if node.ready { waiters.resume(key: node.name, with: .success(())) }
            }
        } catch let error as any RetryClassifying where error.isTransient {
            // The API is down until etcd is up; keep polling through transient errors.
        } catch {
            waiters.resumeAll(with: .failure(error))
        }
    }
}
