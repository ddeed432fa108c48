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
public struct SimulatedDrillLease: DrillLeaseStore {
    public let file: URL
    /// Who this process is (`holderIdentity`).
    public let holder: String
    public let now: @Sendable () -> Date

    public init(directory: URL, holder: String, now: @escaping @Sendable () -> Date = { Date() }) {
        file = directory.appendingPathComponent("drill-lease.json")
        self.holder = holder
        self.now = now
    }

    /// Locks the file, hands its record to `change`, writes back what it returns (nil removes it).
    public func update(_ change: (DrillLeaseRecord?) throws -> DrillLeaseRecord?) async throws {
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
