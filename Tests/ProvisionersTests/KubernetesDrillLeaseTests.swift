import ClusterKit
import ClusterTestSupport
import Foundation
import Provisioners
import Testing

/// The drill lease as a Kubernetes Lease, over TLS against the API model: create, replace with
/// resourceVersion, the API server's 409s.
@Suite(.serialized) struct KubernetesDrillLeaseTests {
    static func peer() throws -> KubernetesAPIPeer {
        let peer = try KubernetesAPIPeer(secrets: try FluxInstallerFixture.secrets.get())
        // Every real cluster has kube-system; the model starts with no namespaces.
        peer.model.objects.seed(.object(["apiVersion": "v1", "kind": "Namespace", "metadata": .object(["name": "kube-system"])]))
        return peer
    }

    @Test func oneHolderAtATimeAndTheStopReachesIt() async throws {
        let peer = try Self.peer()
        defer { peer.stop() }
        let api = KubernetesClient(kubeconfig: try peer.adminKubeconfig())
        let first = KubernetesDrillLease(api: api, holder: "alice@a pid 1")
        let second = KubernetesDrillLease(api: api, holder: "bob@b pid 2")
        #expect(try await first.read() == nil)
        try await first.acquire(DrillLeaseRecord(holder: first.holder, command: "clusterctl drill run home", acquiredAt: Date()))
        try await first.recordFault(node: "home-workers-2", scenario: "lose-worker")

        let refused = await #expect(throws: ClusterError.self) {
            try await second.acquire(DrillLeaseRecord(holder: second.holder, command: "clusterctl drill run home", acquiredAt: Date()))
        }
        #expect(refused?.code == .refused)
        #expect(refused?.message.contains("alice@a pid 1") == true, "\(refused?.message ?? "")")
        #expect(refused?.message.contains("running lose-worker") == true)

        // Stored as a Lease with the API's field types.
        let stored = try #require(peer.model.objects.object(apiVersion: "coordination.k8s.io/v1", kind: "Lease", namespace: "kube-system", name: "clusterctl-drill"))
        #expect(stored["spec"]?["holderIdentity"]?.stringValue == "alice@a pid 1")
        #expect(stored["spec"]?["leaseDurationSeconds"]?.intValue == 60)
        let renew = try #require(stored["spec"]?["renewTime"]?.stringValue)
        #expect(renew.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z/) != nil, "MicroTime: \(renew)")
        #expect(stored.value(at: ["metadata", "annotations", "clusterctl.dev/drill-fault-node"])?.stringValue == "home-workers-2")

        #expect(try await second.requestStop(reason: "stopped by bob")?.holder == "alice@a pid 1")
        #expect(try await first.renew() == "stopped by bob")
        try await first.release()
        #expect(try await first.read() == nil)
        try await second.acquire(DrillLeaseRecord(holder: second.holder, command: "clusterctl drill run home", acquiredAt: Date()))
        #expect(try await second.read()?.holder == "bob@b pid 2")
        #expect(try await second.read()?.stopRequested == nil)
    }

    @Test func anExpiredHolderIsTakenOverAndItsFaultKept() async throws {
        let peer = try Self.peer()
        defer { peer.stop() }
        let api = KubernetesClient(kubeconfig: try peer.adminKubeconfig())
        let dead = KubernetesDrillLease(api: api, holder: "alice@a pid 1")
        try await dead.acquire(DrillLeaseRecord(holder: dead.holder, command: "clusterctl drill run home", acquiredAt: Date(), durationSeconds: 30))
        try await dead.recordFault(node: "home-cp-1", scenario: "move-ingress-ip")
        let later = KubernetesDrillLease(api: api, holder: "bob@b pid 2", now: { Date().addingTimeInterval(120) })
        let record = try #require(try await later.read())
        #expect(record.isExpired(at: Date().addingTimeInterval(120)))
        try await later.acquire(DrillLeaseRecord(holder: later.holder, command: "clusterctl drill stop home", acquiredAt: Date().addingTimeInterval(120)))
        let taken = try #require(try await later.read())
        #expect(taken.holder == "bob@b pid 2")
        #expect(taken.faultNode == "home-cp-1", "the dead holder's fault stays on record until repaired")
        // The dead holder finds it lost the lease.
        let lost = await #expect(throws: ClusterError.self) { _ = try await dead.renew() }
        #expect(lost?.message.contains("taken over by bob@b pid 2") == true, "\(lost?.message ?? "")")
    }
}
