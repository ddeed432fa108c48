import ClusterKit
import Foundation
import Provisioners
import Testing

/// The simulated world persists between CLI runs, so a world saved by an earlier clusterctl must
/// still load after fields were added to it.
@Suite("Simulator store")
struct SimulatorStoreTests {
    @Test("a world saved before the Talos API fields existed still loads")
    func olderWorldLoads() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sim-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = SimulatorStore(directory: directory)
        // The cluster state as clusterctl wrote it before strayEtcd, recoverySnapshots and the
        // Kubernetes objects were added.
        let older = """
            {"seed":7,"now":454.5,"nextSerial":3,"providers":{},"faults":[],
             "clusters":{"home":{"bootstrapMachine":"sim-1","bootstrappedAt":120,"clusterID":"abc","bootstrapCalls":1,
               "removedMembers":[],"kubernetesNodes":{"home-cp-1":"sim-1"},"floatingIPs":{},"floatingIPAddresses":{}}}}
            """
        try Data(older.utf8).write(to: store.stateURL)
        let state = try store.load(seed: 7)
        #expect(state.now == 454.5)
        // Saved again, it carries the new fields and loads as it was.
        try store.save(state)
        #expect(try store.load(seed: 7) == state)
    }
}
