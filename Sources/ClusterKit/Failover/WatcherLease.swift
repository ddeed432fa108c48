import Synchronization

/// The watcher's hold on the cluster's lock, shared by the playbooks it runs at the same time.
///
/// The watcher takes the lock when the first of its playbooks starts and gives it back when the
/// last one ends, so its ingress move can run while its own replacement holds the lock: asking the
/// ``ClusterLock`` a second time from this process would be refused by the watcher's own lease
/// (the CLI's lock is a flock(2) on a file, and two opens of one file conflict even within a
/// process). Anyone else, `clusterctl up`, a drill or another watcher, asks the lock itself and is
/// still refused while any playbook of this watcher runs; between playbooks the lock is free.
final class WatcherLease: Sendable {
    private struct State {
        var lease: (any ClusterLockLease)?
        var holders = 0
    }

    private let lock: (any ClusterLock)?
    private let state = Mutex(State())

    init(lock: (any ClusterLock)?) {
        self.lock = lock
    }

    /// Joins the watcher's hold, taking the cluster's lock as `command` when no playbook of the
    /// watcher holds it yet. Every successful call is paired with one ``leave()``.
    /// - Throws: the lock's `refused` ``ClusterError`` when someone else holds it.
    func enter(as command: String) throws(ClusterError) {
        guard let lock else { return }
        try state.withLock { (state: inout State) throws(ClusterError) in
            if state.holders == 0 {
                state.lease = try lock.acquire(as: .current(command: command))
            }
            state.holders += 1
        }
    }

    /// Leaves the hold; the last playbook to leave releases the cluster's lock.
    func leave() {
        guard lock != nil else { return }
        let released: (any ClusterLockLease)? = state.withLock { state in
            state.holders = max(0, state.holders - 1)
            guard state.holders == 0 else { return nil }
            defer { state.lease = nil }
            return state.lease
        }
        released?.release()
    }
}
