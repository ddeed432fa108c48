import ClusterKit
import ClusterTestSupport
import Foundation
import Provisioners
import Synchronization
import Testing

/// The controlplane-lost playbook against a real etcd cluster (Debian's etcd-server, one member
/// per control plane, named by its hostname) behind the Talos API peer, through the real Talos
/// client: the member list, its learners, etcd's health and the member removal are etcd's own.
/// The provider is a small one of loopback machines (``LoopbackMachines``) and Kubernetes an
/// in-memory API; only Talos and etcd are on the wire.
@Suite(.serialized, .enabled(if: EtcdTestCluster.shouldRun, Comment(rawValue: EtcdTestCluster.unavailableReason ?? "")))
struct FailoverEtcdGuardTests {
    struct World {
        let spec: ClusterSpec
        let peer: TalosAPIPeer
        let etcd: EtcdTestCluster
        let realEtcd: TalosPeerEtcd
        let machines: LoopbackMachines
        let kubernetes: InMemoryKubernetes
        let backend: ClusterBackend
        let home: URL

        /// `controlPlanes` control planes `wire-cp-N`, configured, each with its etcd member running.
        static func start(controlPlanes: Int) async throws -> World {
            let secrets = try #require(TalosPeerFixture.sharedSecrets)
            let spec = try SpecLoader.load(yaml: Self.specText(controlPlanes: controlPlanes), file: "clusters/wire.yaml").spec
            let home = FileManager.default.temporaryDirectory.appendingPathComponent("failover-etcd-\(UUID().uuidString)")
            let store = SecretsStore(directory: home)
            try store.save(secrets)
            let peer = TalosAPIPeer(secrets: secrets)
            let kubernetes = InMemoryKubernetes(time: HTTPFastTimeSource())
            let names = (1...controlPlanes).map { "wire-cp-\($0)" }
            let etcd = try await EtcdTestCluster.start(names)
            let realEtcd = peer.useRealEtcd(etcd)
            let configs = LazyTalosConfigSource(spec: spec, store: store)
            let machines = LoopbackMachines(peer: peer, etcd: realEtcd, kubernetes: kubernetes, configs: configs)
            for name in names { try await machines.boot(name, pool: "cp") }
            var backend = RealBackends.make(spec: spec, store: store, configs: configs, environment: [:])
            backend.provisioners["hcloud"] = machines
            backend.kubernetes = kubernetes
            return World(spec: spec, peer: peer, etcd: etcd, realEtcd: realEtcd, machines: machines, kubernetes: kubernetes, backend: backend, home: home)
        }

        /// LoopbackCloud's spec with a DNS endpoint and no failover section: this provider has no floating IPs.
        static func specText(controlPlanes: Int) -> String {
            let text = LoopbackCloud.spec(cluster: "wire", controlPlanes: controlPlanes, workers: 0)
                .replacingOccurrences(of: "floatingIP: api", with: "dns: k8s.wire.example.net")
            return String(text[..<(text.range(of: "failover:")?.lowerBound ?? text.endIndex)])
        }

        func playbook(_ node: String) -> FailoverPlaybook {
            let options = FailoverPlaybook.Options(
                confirmProbes: 2, probeInterval: .milliseconds(200), pollInterval: .milliseconds(200), recoveryTimeout: .seconds(60))
            return FailoverPlaybook(.controlPlaneLost, node: node, spec: spec, backend: backend, options: options)
        }

        /// The machine dies: apid silent, its etcd member stopped, its kubelet silent.
        func lose(_ node: String) async throws {
            let address = try #require(machines.address(of: node))
            peer.update(address) { $0.up = false }
            await kubernetes.addNode(node, ready: false)
            #expect(!etcd.isRunning(node))
        }

        /// The state an earlier replacement of `node` leaves before its join: etcd stopped and
        /// wiped, the old voter removed through wire-cp-1.
        func retireVoter(_ node: String) async throws {
            let old = try #require(try await etcd.members(via: "wire-cp-1").first { $0.name == node })
            etcd.wipe(node)
            try await etcd.waitForLeader()
            try await etcd.remove(old.id, via: "wire-cp-1")
        }

        /// etcd is whole again: wire-cp-1 to 3 voting, and the member `id` gone.
        func expectThreeVoters(without id: UInt64) async throws {
            let after = try await etcd.members(via: "wire-cp-1")
            #expect(after.map(\.name).sorted() == ["wire-cp-1", "wire-cp-2", "wire-cp-3"])
            #expect(after.allSatisfy { !$0.isLearner })
            #expect(!after.contains { $0.id == id })
        }

        /// etcd's member names as etcd itself lists them, through `via`.
        func members(via: String) async throws -> [String] {
            try await etcd.members(via: via).map(\.name).sorted()
        }

        func stop() async {
            await peer.shutdown()
            etcd.shutdown()
            try? FileManager.default.removeItem(at: home)
        }
    }

    @Test func aLostControlPlaneIsRemovedFromEtcdThroughAHealthyOneAndItsReplacementJoinsAsAVoter() async throws {
        let world = try await World.start(controlPlanes: 3)
        let healthy = try await world.playbook("wire-cp-1").run()
        #expect(healthy.outcome == .nothingToDo, "\(healthy.reason ?? "")")

        let before = try await world.etcd.members(via: "wire-cp-1")
        try await world.lose("wire-cp-2")
        try await world.etcd.waitForLeader()
        let report = try await world.playbook("wire-cp-2").run()
        #expect(report.outcome == .completed, "\(report.reason ?? "") \(report.steps.map(\.message))")
        #expect(report.steps.map(\.step.action) == [.confirmLost, .removeEtcdMember, .deleteKubernetesNode, .deleteMachine, .createReplacement, .waitHealthy])
        let removal = try #require(report.steps.first { $0.step.action == .removeEtcdMember })
        #expect(removal.message.hasPrefix("etcd member of wire-cp-2 removed through wire-cp-"), "\(removal.message)")

        // etcd itself: three voters again, the replacement a new member under the old name.
        let after = try await world.etcd.members(via: "wire-cp-3")
        #expect(after.map(\.name).sorted() == ["wire-cp-1", "wire-cp-2", "wire-cp-3"])
        #expect(after.allSatisfy { !$0.isLearner })
        let oldID = try #require(before.first { $0.name == "wire-cp-2" }?.id)
        #expect(!after.contains { $0.id == oldID }, "the lost member was removed, not reused")
        #expect(world.machines.deleted == ["wire-cp-2"])
        #expect(world.etcd.isRunning("wire-cp-2"))
        await world.stop()
    }

    @Test func aJoinInProgressIsRefusedWhileEtcdListsALearner() async throws {
        let world = try await World.start(controlPlanes: 3)
        // A control plane's join as Talos starts it: a learner added, not started yet (no name).
        let learner = try await EtcdTestCluster.afterHealthInterval { try await world.etcd.addMember("wire-cp-4", learner: true, via: "wire-cp-1") }
        try await world.lose("wire-cp-2")
        try await world.etcd.waitForLeader()
        let report = try await world.playbook("wire-cp-2").run()
        #expect(report.outcome == .refused, "\(report.reason ?? "")")
        #expect(report.reason?.contains("etcd member \(String(format: "%016llx", learner)) has no name yet: a join is in progress") == true, "\(report.reason ?? "")")
        #expect(try await world.etcd.members(via: "wire-cp-1").count == 4, "no member was removed")
        #expect(world.machines.deleted.isEmpty, "no machine was deleted")
        await world.stop()
    }

    @Test func theLostNodesOwnLearnerIsRemovedNotWaitedFor() async throws {
        let world = try await World.start(controlPlanes: 3)
        // An earlier replacement of wire-cp-3 lost power while it waited for its promotion: the
        // old voter was removed, the new machine's etcd joined as a learner under the same name
        // and started (so it has its name), and never will be promoted now.
        try await world.retireVoter("wire-cp-3")
        let learner = try await EtcdTestCluster.afterHealthInterval { try await world.etcd.addMember("wire-cp-3", learner: true, via: "wire-cp-1") }
        let initial = try await world.etcd.members(via: "wire-cp-1").map { "\($0.id == learner ? "wire-cp-3" : $0.name)=\($0.peerURLs.first ?? "")" }
        try world.etcd.launch("wire-cp-3", initialCluster: initial.joined(separator: ","), state: "existing")
        let started = ContinuousClock.now + .seconds(20)
        while try await world.etcd.members(via: "wire-cp-1").first(where: { $0.id == learner })?.name != "wire-cp-3", ContinuousClock.now < started {
            try await Task.sleep(for: .milliseconds(100))
        }
        let listed = try #require(try await world.etcd.members(via: "wire-cp-1").first { $0.id == learner })
        #expect(listed.isLearner && listed.name == "wire-cp-3", "\(listed)")
        try await world.lose("wire-cp-3")

        let report = try await world.playbook("wire-cp-3").run()
        #expect(report.outcome == .completed, "\(report.reason ?? "") \(report.steps.map(\.message))")
        let removal = try #require(report.steps.first { $0.step.action == .removeEtcdMember })
        #expect(removal.message.hasPrefix("etcd member of wire-cp-3 removed through wire-cp-"), "\(removal.message)")
        // etcd itself: three voters, the dead learner gone, so the replacement could take the slot.
        try await world.expectThreeVoters(without: learner)
        #expect(world.machines.deleted == ["wire-cp-3"])
        await world.stop()
    }

    @Test func theLostNodesUnstartedLearnerIsFoundByItsPeerAddressAndRemoved() async throws {
        let world = try await World.start(controlPlanes: 3)
        // An earlier replacement of wire-cp-3 lost power between Talos adding its learner and its
        // etcd starting: the learner has no name, only the machine's peer URL.
        try await world.retireVoter("wire-cp-3")
        let address = try #require(world.machines.address(of: "wire-cp-3"))
        let added = try await EtcdTestCluster.afterHealthInterval {
            try await world.etcd.call("wire-cp-1", "/v3/cluster/member/add", ["peerURLs": ["https://\(address):2380"], "isLearner": true])
        }
        let learner = try #require((added["member"] as? [String: Any])?["ID"] as? String)
        try await world.lose("wire-cp-3")

        let report = try await world.playbook("wire-cp-3").run()
        #expect(report.outcome == .completed, "\(report.reason ?? "") \(report.steps.map(\.message))")
        #expect(report.steps.contains { $0.step.action == .removeEtcdMember && $0.outcome == .done })
        try await world.expectThreeVoters(without: try #require(UInt64(learner)))
        await world.stop()
    }

    @Test func losingQuorumIsRefusedWithEtcdsOwnNoLeader() async throws {
        let world = try await World.start(controlPlanes: 3)
        try await world.lose("wire-cp-2")
        try await world.lose("wire-cp-3")
        // The leader steps down once it misses a quorum for an election timeout (etcd's
        // CheckQuorum, on by default): from then on the member left answers "no leader".
        let deadline = ContinuousClock.now + .seconds(15)
        while (try? await world.etcd.members(via: "wire-cp-1")) != nil, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(200))
        }
        await #expect(throws: EtcdTestCluster.EtcdError.self) { try await world.etcd.members(via: "wire-cp-1") }
        let report = try await world.playbook("wire-cp-2").run()
        #expect(report.outcome == .refused, "\(report.reason ?? "")")
        #expect(report.reason?.contains("no control plane answers etcd's member list: etcd has no quorum") == true, "\(report.reason ?? "")")
        #expect(world.machines.deleted.isEmpty, "no machine was deleted")
        await world.stop()
    }

    @Test func anotherControlPlaneWhoseEtcdIsDownIsRefused() async throws {
        let world = try await World.start(controlPlanes: 5)
        try await world.lose("wire-cp-2")
        // wire-cp-3 runs, but its etcd member has stopped (Talos reports the service not healthy).
        world.etcd.stop("wire-cp-3")
        try await world.etcd.waitForLeader()
        let report = try await world.playbook("wire-cp-2").run()
        #expect(report.outcome == .refused, "\(report.reason ?? "")")
        #expect(report.reason?.contains("another control plane, wire-cp-3, is unhealthy (its etcd is not healthy)") == true, "\(report.reason ?? "")")
        #expect(try await world.members(via: "wire-cp-1") == ["wire-cp-1", "wire-cp-2", "wire-cp-3", "wire-cp-4", "wire-cp-5"], "no member was removed")
        #expect(world.machines.deleted.isEmpty)
        await world.stop()
    }
}

/// A provider of loopback machines for ``FailoverEtcdGuardTests``: each machine is a Talos API
/// peer node on its own 127.x address (port 50000), booted configured from its user data, its
/// kubelet registering Ready. A new control plane joins the real etcd as Talos does (a learner,
/// then promoted); deleting a machine takes its disk, so its etcd data goes with it.
final class LoopbackMachines: Provisioner, @unchecked Sendable {
    let name = "hcloud"
    let acceptsUserData = true
    private let peer: TalosAPIPeer
    private let etcd: TalosPeerEtcd
    private let kubernetes: InMemoryKubernetes
    private let configs: LazyTalosConfigSource
    private let subnet = "127.\(Int.random(in: 16...250)).\(Int.random(in: 1...250))."
    private struct State {
        var machines: [ObservedMachine] = []
        var created = 0
        var deleted: [String] = []
    }
    private let state = Mutex(State())

    init(peer: TalosAPIPeer, etcd: TalosPeerEtcd, kubernetes: InMemoryKubernetes, configs: LazyTalosConfigSource) {
        self.peer = peer
        self.etcd = etcd
        self.kubernetes = kubernetes
        self.configs = configs
    }

    var deleted: [String] { state.withLock { $0.deleted } }

    func address(of node: String) -> String? { state.withLock { $0.machines.first { $0.identity.node == node }?.addresses.first } }

    /// A machine that already runs (the cluster as `up` left it).
    func boot(_ node: String, pool: String) async throws {
        let identity = NodeIdentity(cluster: "wire", pool: pool, role: .controlPlane, node: node)
        _ = try await start(identity, config: try configs.render(node: identity, addresses: [], floatingIP: nil))
    }

    private func start(_ identity: NodeIdentity, config: MachineConfigPayload?) async throws -> ObservedMachine {
        let (id, address) = state.withLock { state in
            state.created += 1
            return (state.created, subnet + String(10 + state.created))
        }
        try await peer.addNode(address: address, hostname: identity.node, config: config, listenOnAddress: true)
        let machine = ObservedMachine(providerID: String(id), provider: name, identity: identity, phase: .running, addresses: [address])
        state.withLock { $0.machines.append(machine) }
        await kubernetes.addNode(identity.node, ready: true)
        return machine
    }

    func ensureImage(_ request: ImageRequest) async throws -> ProviderImage { ProviderImage(id: "talos", description: "Talos") }
    func ensureClusterResources(cluster: String) async throws {}
    func deleteClusterResources(cluster: String) async throws {}
    func listMachines(cluster: String) async throws -> [ObservedMachine] { state.withLock { $0.machines } }
    func waitUntilRunning(_ machine: ObservedMachine) async throws -> ObservedMachine { machine }

    func createMachine(_ request: MachineRequest) async throws -> ObservedMachine {
        let machine = try await start(request.identity, config: request.userData)
        // Talos on a new control plane joins etcd through a running member (a learner, then promoted).
        await etcd.joinWaitingControlPlanes()
        return machine
    }

    func deleteMachine(_ machine: ObservedMachine) async throws {
        state.withLock { state in
            state.machines.removeAll { $0.providerID == machine.providerID }
            state.deleted.append(machine.identity.node)
        }
        if let address = machine.addresses.first { peer.update(address) { $0.up = false } }
        etcd.etcd.wipe(machine.identity.node)
    }
}

