public import Foundation

/// Makes sure one run at a time changes a cluster: `up`, `down`, `node add|remove` and
/// `secrets import` take it before their first change and hold it until they end.
///
/// The CLI's lock is a file in the cluster's clusterctl directory, locked with flock(2), so the
/// kernel releases it when the process exits or dies. The failover watcher and drills will need
/// a lock that lives with the cluster itself (so two machines cannot both act); they implement
/// this same protocol.
public protocol ClusterLock: Sendable {
    /// Takes the lock for `holder`, or throws a `refused` ``ClusterError`` naming who holds it.
    func acquire(as holder: ClusterLockHolder) throws(ClusterError) -> any ClusterLockLease
}

/// A held lock; releasing it (or ending the process) lets the next run in.
public protocol ClusterLockLease: Sendable {
    func release()
}

/// Who holds a cluster's lock, as the refusal names them.
public struct ClusterLockHolder: Sendable, Codable, Hashable, CustomStringConvertible {
    public var pid: Int32
    public var host: String
    public var command: String
    public var since: Date

    public init(pid: Int32, host: String, command: String, since: Date) {
        self.pid = pid
        self.host = host
        self.command = command
        self.since = since
    }

    /// This process, running `command`, from now.
    public static func current(command: String, now: Date = Date()) -> ClusterLockHolder {
        ClusterLockHolder(pid: ProcessInfo.processInfo.processIdentifier, host: ProcessInfo.processInfo.hostName, command: command, since: now)
    }

    /// `pid 4242 on lab-1 (clusterctl up home), since 2026-11-30 14:02:11 UTC`.
    public var description: String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return "pid \(pid) on \(host) (\(command)), since \(formatter.string(from: since)) UTC"
    }
}
