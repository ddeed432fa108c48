import ClusterKit
import ClusterTestSupport
import Provisioners
import Testing

/// The simulator's Kubernetes controllers as draining meets them: ReplicaSets replace evicted
/// pods elsewhere (which is what lets a budget allow the next eviction), DaemonSets stay, a
/// deleted Node takes its pods along, and the executor drains before it deletes a machine.
@Suite("Simulated Kubernetes")
struct SimulatedKubernetesTests {
    static func cluster(workers: Int) throws -> (SimulatedRun, SimulatedKubernetesAPI) {
        let spec = try Fixtures.hybridSpec(controlPlanes: 1, homeWorkers: workers, cloudWorkers: 0)
        let run = SimulatedRun(spec: spec)
        #expect(try run.up().healthy)
        return (run, SimulatedKubernetesAPI(world: run.world, cluster: spec.name))
    }

    @Test("a budget of minAvailable 1 over two pods on one node lets the drain go on once the first replacement runs elsewhere")
    func replacementUnblocksTheBudget() throws {
        let (run, api) = try Self.cluster(workers: 2)
        let world = run.world
        try SimulationRunLoop(clock: world.clock).run {
            // Both replicas on workers-1: workers-2 is cordoned while they are placed.
            try await api.setUnschedulable(true, node: "home-workers-2")
            world.addWorkload(cluster: "home", name: "queue", replicas: 2, minAvailable: 1)
            try await world.clock.sleep(for: .seconds(10))
            try await api.setUnschedulable(false, node: "home-workers-2")
            let before = try await api.pods(onNode: "home-workers-1").filter { $0.name.hasPrefix("queue-") }
            #expect(before.count == 2)

            let report = try await NodeDrainer(kubernetes: api, time: world.clock).drain(node: "home-workers-1")
            #expect(report.evicted.filter { $0.hasPrefix("default/queue-") }.count == 2)
            #expect(report.blockedAttempts >= 1)
            // The second eviction waited for the first replacement to start (5 s) on workers-2.
            let moved = try await api.pods(onNode: "home-workers-2").filter { $0.name.hasPrefix("queue-") }
            #expect(moved.count == 2 && moved.allSatisfy { $0.phase == "Running" && !$0.isTerminating })
            #expect(try await api.pods(onNode: "home-workers-1").allSatisfy { $0.isDaemonSetPod })
        }
    }

    @Test("DaemonSet pods are recreated on their node; a deleted Node's pods are collected and its workload pods replaced")
    func controllers() throws {
        let (run, api) = try Self.cluster(workers: 2)
        let world = run.world
        try SimulationRunLoop(clock: world.clock).run {
            world.addWorkload(cluster: "home", name: "web", replicas: 2)
            try await world.clock.sleep(for: .seconds(10))
            let proxy = try #require(try await api.pods(onNode: "home-workers-1").first { $0.name.hasPrefix("kube-proxy-") })
            #expect(try await api.evict(proxy) == .evicted)
            try await world.clock.sleep(for: world.timings.podTermination + .seconds(1))
            let proxies = try await api.pods(onNode: "home-workers-1").filter { $0.name.hasPrefix("kube-proxy-") }
            #expect(proxies.count == 1 && proxies.first?.name != proxy.name, "\(proxies) \(proxy)")

            try await api.deleteNode("home-workers-1")
            #expect(try await api.pods(onNode: "home-workers-1").isEmpty)
            #expect(try await !api.nodes().contains { $0.name == "home-workers-1" })
            let web = try await api.pods(onNode: "home-workers-2").filter { $0.name.hasPrefix("web-") }
            #expect(web.count == 2)
        }
    }

    @Test("removing a worker drains it through the Eviction API before its machine goes")
    func nodeRemovalDrains() throws {
        let spec = try Fixtures.hybridSpec(controlPlanes: 1, homeWorkers: 2, cloudWorkers: 0)
        let run = SimulatedRun(spec: spec)
        #expect(try run.up().healthy)
        run.world.addWorkload(cluster: "home", name: "web", replicas: 2, minAvailable: 1)
        var smaller = spec
        smaller.pools = spec.pools.map { pool in
            var pool = pool
            if pool.name == "workers" { pool.count = 1 }
            return pool
        }
        let second = run.restarted(spec: smaller)
        let report = try second.up()
        #expect(report.succeeded, "\(report.failures)")
        let kubernetesCalls = second.world.operationLog.filter { $0.operation == .kubernetes && $0.node == "home-workers-2" }
        #expect(kubernetesCalls.count >= 4, "cordon, list, evict, delete: \(kubernetesCalls.count)")
        #expect(second.world.liveMachineCount(cluster: "home", node: "home-workers-2") == 0)
        #expect(second.world.snapshot().now - run.world.snapshot().now >= 30, "the drain waited for the evicted pods' grace period")
    }
}
