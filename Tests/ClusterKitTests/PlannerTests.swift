import ClusterKit
import ClusterTestSupport
import Testing

@Suite struct PlannerTests {
    func machine(_ node: String, pool: String, role: NodeRole = .worker, provider: String, phase: MachinePhase = .running, size: MachineSize) -> ObservedMachine {
        ObservedMachine(providerID: "id-\(node)", provider: provider, identity: NodeIdentity(cluster: "home", pool: pool, role: role, node: node), phase: phase, addresses: ["192.0.2.1"], size: size)
    }

    @Test func emptyWorldCreatesEveryNodeAndBootstrapsTheFirstControlPlane() throws {
        let spec = try Fixtures.hybridSpec()
        let plan = Planner.plan(spec: spec, observed: ObservedCluster(machines: []))
        #expect(plan.creates == 6 && plan.deletes == 0 && plan.replaces == 0)
        #expect(plan.bootstrapNode == "home-cp-1")
        #expect(plan.installsGitOps)
        // Control planes spread round-robin over the pool's locations.
        let locations = plan.desired.filter { $0.identity.pool == "cp" }.map(\.location)
        #expect(locations == ["fsn1", "nbg1"])
        #expect(plan.summary == "Plan: 6 to create, 0 to replace, 0 to delete; bootstrap etcd on home-cp-1; install Flux.")
    }

    @Test func gapsAreFilledFromTheLowestFreeIndex() throws {
        let spec = try Fixtures.hybridSpec(homeWorkers: 3)
        let size = spec.pools[2].size
        let observed = ObservedCluster(machines: [
            machine("home-workers-1", pool: "workers", provider: "workstation", size: size),
            machine("home-workers-3", pool: "workers", provider: "workstation", size: size),
        ], etcdBootstrapped: true)
        let plan = Planner.plan(spec: spec, observed: observed)
        let workerChanges = plan.changes.filter { $0.node.hasPrefix("home-workers") }
        #expect(workerChanges == [.create(plan.desired.first { $0.identity.node == "home-workers-2" }!)])
        #expect(plan.bootstrapNode == nil)
    }

    @Test func extraAndOrphanedMachinesAreDeletedHighestIndexFirst() throws {
        let spec = try Fixtures.hybridSpec(homeWorkers: 1)
        let size = spec.pools[2].size
        let observed = ObservedCluster(machines: [
            machine("home-workers-1", pool: "workers", provider: "workstation", size: size),
            machine("home-workers-2", pool: "workers", provider: "workstation", size: size),
            machine("home-workers-3", pool: "workers", provider: "workstation", phase: .failed, size: size),
            machine("home-old-1", pool: "old", provider: "workstation", size: size),
        ], etcdBootstrapped: true)
        let plan = Planner.plan(spec: spec, observed: observed)
        let deletes = plan.changes.compactMap { change -> String? in if case .delete(let machine, _) = change { machine.identity.node } else { nil } }
        #expect(deletes == ["home-old-1", "home-workers-2", "home-workers-3"])
    }

    @Test func failedMachinesAreReplacedAndSizeDriftIsOnlyNoted() throws {
        let spec = try Fixtures.hybridSpec(homeWorkers: 2)
        let size = spec.pools[2].size
        let observed = ObservedCluster(machines: [
            machine("home-workers-1", pool: "workers", provider: "workstation", phase: .failed, size: size),
            machine("home-workers-2", pool: "workers", provider: "workstation", size: MachineSize(cpus: 2, memoryMiB: 2048, diskGiB: 20)),
        ], etcdBootstrapped: true)
        let plan = Planner.plan(spec: spec, observed: observed)
        #expect(plan.changes.contains { if case .replace(let machine, _, _) = $0 { machine.identity.node == "home-workers-1" } else { false } })
        #expect(!plan.changes.contains { $0.node == "home-workers-2" })
        #expect(plan.notes.contains { $0.contains("home-workers-2: size is 2 cpu, 2 GiB, 20 GiB disk") })
    }

    @Test func poolsOfAnUnreachableProviderAreLeftAlone() throws {
        let spec = try Fixtures.hybridSpec()
        let plan = Planner.plan(spec: spec, observed: ObservedCluster(machines: [], unreachableProviders: ["workstation": "connection refused"]))
        #expect(!plan.changes.contains { $0.node.hasPrefix("home-workers") || $0.node.hasPrefix("home-cp-home") })
        #expect(plan.notes.contains { $0.contains("pool workers left alone") })
    }

    @Test func threeHundredNodesGetDistinctNames() throws {
        let spec = try Fixtures.hybridSpec(homeWorkers: 150, cloudWorkers: 147)
        let plan = Planner.plan(spec: spec, observed: ObservedCluster(machines: []))
        #expect(plan.creates == 300)
        #expect(Set(plan.desired.map(\.identity.node)).count == 300)
    }
}

/// Two machines carrying one node name never cost a distinct healthy node.
@Suite struct PlannerDuplicateTests {
    func machine(_ node: String, id: String, pool: String = "cp", phase: MachinePhase = .running, size: MachineSize) -> ObservedMachine {
        ObservedMachine(providerID: id, provider: "hcloud", identity: NodeIdentity(cluster: "home", pool: pool, role: .controlPlane, node: node), phase: phase, addresses: ["192.0.2.1"], size: size)
    }

    @Test func aCloneOfOneControlPlaneDoesNotPushOutTheOther() throws {
        let spec = try Fixtures.hybridSpec()
        let cp = try #require(spec.pool(named: "cp"))
        let observed = ObservedCluster(machines: [
            machine("home-cp-1", id: "41", size: cp.size),
            machine("home-cp-1", id: "57", size: cp.size),
            machine("home-cp-2", id: "42", size: cp.size),
        ], etcdBootstrapped: true)
        let plan = Planner.plan(spec: spec, observed: observed)
        #expect(!plan.changes.contains { ["home-cp-1", "home-cp-2"].contains($0.node) }, "\(plan.changes)")
        #expect(plan.duplicates.map(\.node) == ["home-cp-1"])
        #expect(plan.duplicates.first?.machines.map(\.providerID) == ["41", "57"])
        #expect(plan.notes.contains { $0.contains("home-cp-1 is carried by 2 machines") && $0.contains("--machine 57") })
        #expect(!plan.desired.contains { $0.identity.node == "home-cp-1" }, "neither copy is configured or waited on")
        #expect(plan.desired.contains { $0.identity.node == "home-cp-2" })
        #expect(!plan.isComplete)
    }

    @Test func shrinkingAPoolDeletesTheHighestDistinctNodeNotTheDuplicate() throws {
        var spec = try Fixtures.hybridSpec()
        let cp = try #require(spec.pool(named: "cp"))
        spec.pools = spec.pools.map { pool in
            var pool = pool
            if pool.name == "cp" { pool.count = 2 }
            return pool
        }
        let observed = ObservedCluster(machines: [
            machine("home-cp-1", id: "1", size: cp.size),
            machine("home-cp-2", id: "2", size: cp.size),
            machine("home-cp-3", id: "3", size: cp.size),
            machine("home-cp-3", id: "4", phase: .failed, size: cp.size),
        ], etcdBootstrapped: true)
        let plan = Planner.plan(spec: spec, observed: observed)
        #expect(!plan.changes.contains { $0.node == "home-cp-1" || $0.node == "home-cp-2" }, "\(plan.changes)")
        #expect(plan.notes.contains { $0.contains("home-cp-3 left alone") }, "\(plan.notes)")
    }

    @Test func aDuplicateBelowTheCountStillLeavesRoomForNoExtraCreate() throws {
        let spec = try Fixtures.hybridSpec()
        let cp = try #require(spec.pool(named: "cp"))
        let observed = ObservedCluster(machines: [
            machine("home-cp-2", id: "7", size: cp.size),
            machine("home-cp-2", id: "8", size: cp.size),
        ], etcdBootstrapped: true)
        let plan = Planner.plan(spec: spec, observed: observed)
        let creates = plan.changes.compactMap { change -> String? in if case .create(let node) = change { node.identity.node } else { nil } }
        #expect(creates.filter { $0.hasPrefix("home-cp-") && !$0.hasPrefix("home-cp-home") } == ["home-cp-1"], "\(creates)")
    }
}
