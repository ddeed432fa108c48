public import Foundation

/// A ``DrillLease`` kept as one record that can be read and written back atomically: the rules of
/// the lease (who may take it, renew it, stop it) over any store of the record. The simulator
/// keeps it in a locked file (`SimulatedDrillLease`), a real cluster in a Kubernetes Lease
/// (`KubernetesDrillLease`).
public protocol DrillLeaseStore: DrillLease {
    /// Who this process is (`holderIdentity`).
    var holder: String { get }
    /// Wall-clock time: the lease is shared between processes and machines.
    var now: @Sendable () -> Date { get }
    /// Reads the record, hands it to `change`, and writes back what it returns (nil frees the
    /// lease), failing rather than overwriting a concurrent change.
    func update(_ change: (DrillLeaseRecord?) throws -> DrillLeaseRecord?) async throws
}

extension DrillLeaseStore {
    public func acquire(_ record: DrillLeaseRecord) async throws {
        try await update { current in
            if let current, current.holder != holder, !current.isExpired(at: now()) {
                throw ClusterError(
                    .refused,
                    "another drill holds this cluster's drill lease: \(current.holder) (\(current.command)) since \(ISO8601DateFormatter().string(from: current.acquiredAt))"
                        + (current.scenario.map { ", running \($0)" } ?? ""),
                    hint: "wait for it to end, or end it with `clusterctl drill stop`")
            }
            var taken = record
            // A fault left by a holder that died stays on record until someone repairs it.
            if taken.faultNode == nil, let current, current.isExpired(at: now()) { taken.faultNode = current.faultNode }
            return taken
        }
    }

    public func renew() async throws -> String? {
        var stop: String?
        try await updateOwn { record in
            record.renewedAt = now()
            stop = record.stopRequested
        }
        return stop
    }

    public func recordFault(node: String?, scenario: String) async throws {
        try await updateOwn { record in
            record.renewedAt = now()
            record.faultNode = node
            record.scenario = scenario
        }
    }

    private func updateOwn(_ change: (inout DrillLeaseRecord) -> Void) async throws {
        try await update { current in
            guard var record = current, record.holder == holder else {
                throw ClusterError(.refused, "the drill lease was taken over by \(current?.holder ?? "nobody"); this drill stops")
            }
            change(&record)
            return record
        }
    }

    public func release() async throws {
        try await update { current in
            guard let current, current.holder == holder else { return current }
            return nil
        }
    }

    public func read() async throws -> DrillLeaseRecord? {
        var found: DrillLeaseRecord?
        try await update { current in
            found = current
            return current
        }
        return found
    }

    public func requestStop(reason: String) async throws -> DrillLeaseRecord? {
        var written: DrillLeaseRecord?
        try await update { current in
            guard var record = current else { return nil }
            record.stopRequested = reason
            written = record
            return record
        }
        return written
    }

}
