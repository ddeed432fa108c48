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

    @Test func aRenewalThatCrossesAStopRequestIsWrittenAgainAndSeesTheStop() async throws {
        let peer = try Self.peer()
        defer { peer.stop() }
        let api = KubernetesClient(kubeconfig: try peer.adminKubeconfig())
        let stopper = KubernetesDrillLease(api: api, holder: "bob@b pid 2")
        let between = Interleaving(api: api)
        let drill = KubernetesDrillLease(api: between, holder: "alice@a pid 1")
        try await drill.acquire(DrillLeaseRecord(holder: drill.holder, command: "clusterctl drill run home", acquiredAt: Date()))
        try await drill.recordFault(node: "home-workers-2", scenario: "lose-worker")

        // `drill stop` writes between the renewal's read and its write: the API server answers
        // the renewal 409 Conflict, and the renewal reads again instead of ending the drill.
        between.once { _ = try await stopper.requestStop(reason: "stopped by bob") }
        #expect(try await drill.renew() == "stopped by bob")
        #expect(between.conflicts == 1)
        let record = try #require(try await stopper.read())
        #expect(record.holder == "alice@a pid 1" && record.faultNode == "home-workers-2" && record.stopRequested == "stopped by bob")

        // The rules hold on the second reading: two takers of a free lease race, one wins, and
        // the other, reading again, finds a live holder and is refused.
        try await drill.release()
        between.once { try await stopper.acquire(DrillLeaseRecord(holder: stopper.holder, command: "clusterctl drill run home", acquiredAt: Date())) }
        let taker = KubernetesDrillLease(api: between, holder: "carol@c pid 3")
        let refused = await #expect(throws: ClusterError.self) {
            try await taker.acquire(DrillLeaseRecord(holder: taker.holder, command: "clusterctl drill run home", acquiredAt: Date()))
        }
        #expect(refused?.message.contains("another drill holds this cluster's drill lease: bob@b pid 2") == true, "\(refused?.message ?? "")")
        #expect(between.conflicts == 2)
        #expect(try await stopper.read()?.holder == "bob@b pid 2")
    }
}

/// Forwards to `api`, once letting another writer in between a read and the write after it.
final class Interleaving: KubernetesObjectAPI, @unchecked Sendable {
    let api: any KubernetesObjectAPI
    private let lock = NSLock()
    private var pending: (@Sendable () async throws -> Void)?
    private var counted = 0

    init(api: any KubernetesObjectAPI) { self.api = api }

    func once(_ write: @escaping @Sendable () async throws -> Void) {
        lock.withLock { pending = write }
    }

    var conflicts: Int { lock.withLock { counted } }

    private func interleave() async throws {
        guard let write = lock.withLock({ () -> (@Sendable () async throws -> Void)? in
            defer { pending = nil }
            return pending
        }) else { return }
        try await write()
    }

    private func counting<Value>(_ call: () async throws -> Value) async throws -> Value {
        do { return try await call() } catch let error as ClusterError where error.code == .refused {
            lock.withLock { counted += 1 }
            throw error
        }
    }

    func apply(_ object: KubernetesObject, fieldManager: String, force: Bool) async throws -> KubernetesObject {
        try await api.apply(object, fieldManager: fieldManager, force: force)
    }

    func object(_ reference: KubernetesObjectReference) async throws -> KubernetesObject? { try await api.object(reference) }

    func create(_ object: KubernetesObject) async throws -> KubernetesObject {
        try await interleave()
        return try await counting { try await api.create(object) }
    }

    func replace(_ object: KubernetesObject) async throws -> KubernetesObject {
        try await interleave()
        return try await counting { try await api.replace(object) }
    }
}
