import Synchronization

/// The last state a run saw of each node (`Talos maintenance`, ...), so a node that times out
/// is reported with where it was stuck.
final class LastSeenStates: Sendable {
    private let states = Mutex<[String: String]>([:])

    func record(_ node: String, _ state: String) { states.withLock { $0[node] = state } }

    func state(of node: String) -> String? { states.withLock { $0[node] } }
}
