import ClusterKit
import Foundation
import Gzip
@testable import Provisioners
import Testing

/// The byte formats of Talos' streams: the unterminated kubeconfig tar.gz and the etcd snapshot file.
@Suite("Talos stream formats")
struct TalosStreamFormatTests {
    @Test("the first tar entry is read by its size from a stream without padding or end blocks")
    func unterminatedTar() throws {
        let contents = Array("apiVersion: v1\nkind: Config\n".utf8)
        let archive = try TalosKubeconfigArchive.unterminatedTarGz(name: "kubeconfig", contents: contents)
        let tar = try Gzip.decompress(archive)
        // No padding to 512 bytes and no two zero blocks: exactly header + data.
        #expect(tar.count == 512 + contents.count)
        let file = try TalosKubeconfigArchive.firstFile(inTarGz: archive)
        #expect(file.name == "kubeconfig")
        #expect(file.contents == contents)
    }

    @Test("a stream cut inside the data is an error, not a short kubeconfig")
    func truncated() throws {
        let contents = [UInt8](repeating: UInt8(ascii: "x"), count: 3000)
        let tar = try Gzip.decompress(try TalosKubeconfigArchive.unterminatedTarGz(name: "kubeconfig", contents: contents))
        let cut = try Gzip.compress(Array(tar.prefix(1500)))
        #expect(throws: ProvisionerError.self) { try TalosKubeconfigArchive.firstFile(inTarGz: cut) }
        #expect(throws: ProvisionerError.self) { try TalosKubeconfigArchive.firstFile(inTarGz: try Gzip.compress(Array(repeating: 7, count: 600))) }
    }

    @Test("a snapshot of the wrong size is not kept")
    func snapshotSize() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("snapshot-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("etcd.db").path
        let bad = try EtcdSnapshotFile(path: path)
        try bad.append(Data(repeating: 1, count: 1000))
        #expect(throws: ProvisionerError.self) { try bad.finish() }
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(!FileManager.default.fileExists(atPath: path + ".part"))

        let snapshot = EtcdSnapshotFile.make(payload: Array("data".utf8))
        #expect(EtcdSnapshotFile.verify(snapshot))
        let good = try EtcdSnapshotFile(path: path)
        try good.append(Data(snapshot))
        #expect(try good.finish().size == snapshot.count)
        #expect(FileManager.default.contents(atPath: path).map(Array.init) == snapshot)
        var corrupt = snapshot
        corrupt[10] ^= 1
        #expect(!EtcdSnapshotFile.verify(corrupt))
    }
}
