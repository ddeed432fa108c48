import ClusterKit
import Provisioners
import Foundation
import Testing

/// clusterctl's own snapshot check: size, etcd's trailing SHA-256, bbolt revision (the revision
/// is checked against `etcdctl snapshot status` on real snapshots in EtcdBackedPeerTests).
@Suite struct EtcdSnapshotCheckTests {
    /// Pages of `payload` plus their SHA-256, as etcd writes a snapshot.
    private func snapshot(_ payload: [UInt8], pages: Int = 2) -> [UInt8] { EtcdSnapshotFile.make(payload: payload, minimumPages: pages) }

    @Test func acceptsWholePagesWithTheirHashAndRefusesEverythingElse() {
        let database = [UInt8](repeating: 7, count: 8192)
        let bytes = snapshot(database)
        let good = EtcdSnapshotCheck.check(bytes)
        #expect(good.intact)
        #expect(good.size == 8224)
        #expect(good.sha256 == bytes.suffix(32).map { String(format: "%02x", $0) }.joined())
        #expect(good.revision == nil, "not a bbolt database")

        var flipped = snapshot(database)
        flipped[100] ^= 1
        #expect(!EtcdSnapshotCheck.check(flipped).intact)
        #expect(!EtcdSnapshotCheck.check(Array(bytes.dropFirst(100))).intact, "size % 512 must be 32")
        #expect(!EtcdSnapshotCheck.check([1, 2, 3]).intact)
        #expect(!EtcdSnapshotCheck.check([]).intact)
    }

    @Test func aMissingFileIsAClearError() {
        #expect(throws: ClusterError.self) { try EtcdSnapshotCheck.read("/nonexistent/etcd.snapshot") }
    }

    @Test func snapshotNamesSortByTimeAndOnlyOursArePruned() {
        let early = EtcdBackup.fileName(at: Date(timeIntervalSince1970: 1_796_000_000.25))
        let late = EtcdBackup.fileName(at: Date(timeIntervalSince1970: 1_796_000_000.5))
        #expect(early == "etcd-20261130T005320.250Z.snapshot")
        #expect(early < late)
        #expect(EtcdBackup.isSnapshotName(early))
        for other in ["notes.txt", early + ".part", "etcd-2026.snapshot", "x" + early] { #expect(!EtcdBackup.isSnapshotName(other), "\(other)") }
    }
}
