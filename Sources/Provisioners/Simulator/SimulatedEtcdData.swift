import Foundation

/// What a simulated etcd holds, as its snapshots carry it: the Kubernetes objects the simulator
/// keeps (nodes, pods, workloads, cordons) and Flux's install record, all of which a real cluster
/// keeps in etcd. Serialized as sorted JSON, zero-padded to whole 4 KiB pages and followed by its
/// SHA-256 (``EtcdSnapshotFile/make(payload:minimumPages:)``), so the file passes the same checks
/// as a real snapshot and a restore brings the data back.
struct SimulatedEtcdData: Sendable, Codable, Hashable {
    var cluster: String
    var clusterID: String?
    var members: [String]
    var kubernetesNodes: [String: String]
    var kubernetes: SimulatedKubernetesObjects?
    var gitops: SimulatorState.GitOpsRecord?

    func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? Array(encoder.encode(self))) ?? []
    }

    /// Decodes a checked snapshot's database part (the padding is zero bytes, which JSON never ends with).
    static func decode(snapshot: [UInt8]) -> SimulatedEtcdData? {
        var database = Array(snapshot.dropLast(32))
        while database.last == 0 { database.removeLast() }
        return try? JSONDecoder().decode(SimulatedEtcdData.self, from: Data(database))
    }
}
