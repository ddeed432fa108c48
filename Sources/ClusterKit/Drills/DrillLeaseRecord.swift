public import Foundation

/// Who holds a cluster's drill lease, and what their drill broke: the content of the lease.
/// Times are wall-clock (the lease is shared between processes and machines).
public struct DrillLeaseRecord: Codable, Sendable, Hashable {
    /// `user@host pid N`, as Kubernetes' `holderIdentity`.
    public var holder: String
    public var command: String
    public var acquiredAt: Date
    public var renewedAt: Date
    /// The lease is free once `renewedAt + duration` has passed (Kubernetes `leaseDurationSeconds`).
    public var durationSeconds: Double
    public var scenario: String?
    /// The node the running drill powered off; `drill stop` repairs it when the holder is gone.
    public var faultNode: String?
    /// Set by `drill stop`: the holder aborts and repairs at its next check.
    public var stopRequested: String?

    public init(holder: String, command: String, acquiredAt: Date, durationSeconds: Double = 60) {
        self.holder = holder
        self.command = command
        self.acquiredAt = acquiredAt
        renewedAt = acquiredAt
        self.durationSeconds = durationSeconds
    }

    public func isExpired(at now: Date) -> Bool { now.timeIntervalSince(renewedAt) > durationSeconds }

    enum CodingKeys: String, CodingKey {
        case holder, command, scenario
        case acquiredAt = "acquired_at"
        case renewedAt = "renewed_at"
        case durationSeconds = "duration_seconds"
        case faultNode = "fault_node"
        case stopRequested = "stop_requested"
    }
}
