public import ClusterKit
public import Foundation
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The simulated cluster's drill lease: the record a real cluster keeps in its
/// `kube-system/clusterctl-drill` Lease (see ``DrillLease``), kept beside the simulator's world
/// state as `drill-lease.json`, so every process that simulates the cluster sees it.
///
/// Each operation is a read-modify-write under an exclusive `flock(2)` on the file, the
/// simulator's stand-in for the API server's resourceVersion check: two drills racing for it
/// cannot both win.
public struct SimulatedDrillLease: DrillLease {
    public let file: URL
    /// Who this process is (`holderIdentity`).
    public let holder: String
    public let now: @Sendable () -> Date

    public init(directory: URL, holder: String, now: @escaping @Sendable () -> Date = { Date() }) {
        file = directory.appendingPathComponent("drill-lease.json")
        self.holder = holder
        self.now = now
    }

    public func acquire(_ record: DrillLeaseRecord) async throws {
        try update { current in
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
        try updateOwn { record in
            record.renewedAt = now()
            stop = record.stopRequested
        }
        return stop
    }

    public func recordFault(node: String?, scenario: String) async throws {
        try updateOwn { record in
            record.renewedAt = now()
            record.faultNode = node
            record.scenario = scenario
        }
    }

    private func updateOwn(_ change: (inout DrillLeaseRecord) -> Void) throws {
        try update { current in
            guard var record = current, record.holder == holder else {
                throw ClusterError(.refused, "the drill lease was taken over by \(current?.holder ?? "nobody"); this drill stops")
            }
            change(&record)
            return record
        }
    }

    public func release() async throws {
        try update { current in
            guard let current, current.holder == holder else { return current }
            return nil
        }
    }

    public func read() async throws -> DrillLeaseRecord? {
        var found: DrillLeaseRecord?
        try update { current in
            found = current
            return current
        }
        return found
    }

    public func requestStop(reason: String) async throws -> DrillLeaseRecord? {
        var written: DrillLeaseRecord?
        try update { current in
            guard var record = current else { return nil }
            record.stopRequested = reason
            written = record
            return record
        }
        return written
    }

    /// Locks the file, hands its record to `change`, writes back what it returns (nil removes it).
    private func update(_ change: (DrillLeaseRecord?) throws -> DrillLeaseRecord?) throws {
        try SecureFile.ensureDirectory(file.deletingLastPathComponent())
        let descriptor = open(file.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw ClusterError(.io, "cannot open the drill lease \(file.path): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        guard flock(descriptor, LOCK_EX) == 0 else { throw ClusterError(.io, "cannot lock the drill lease \(file.path): \(String(cString: strerror(errno)))") }
        defer { flock(descriptor, LOCK_UN) }
        let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: false)
        let data = try handle.readToEnd() ?? Data()
        var current: DrillLeaseRecord?
        if !data.isEmpty {
            do { current = try DrillReport.decoder().decode(DrillLeaseRecord.self, from: data) } catch {
                throw ClusterError(.io, "the drill lease \(file.path) cannot be read: \(error.localizedDescription)", hint: "remove the file if no drill runs")
            }
        }
        let next = try change(current)
        guard next != current else { return }
        let bytes = try next.map { try DrillReport.encoder().encode($0) } ?? Data()
        guard ftruncate(descriptor, 0) == 0, lseek(descriptor, 0, SEEK_SET) == 0 else {
            throw ClusterError(.io, "cannot rewrite the drill lease \(file.path): \(String(cString: strerror(errno)))")
        }
        try handle.write(contentsOf: bytes)
        fsync(descriptor)
    }
}
