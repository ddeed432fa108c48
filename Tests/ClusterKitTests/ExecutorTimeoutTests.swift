import ClusterKit
import ClusterTestSupport
import Provisioners
import Testing

/// A node that can never turn Ready (its config carries another cluster's identity, as a
/// regenerated secrets bundle would give it) must end with its timeout, not keep the run waiting.
@Suite struct ExecutorTimeoutTests {
    @Test func aNodeThatNeverTurnsReadyEndsAtItsTimeout() throws {
        let spec = try Fixtures.hybridSpec(homeWorkers: 1)
        let first = SimulatedRun(spec: spec)
        first.expectConverged(try first.up())

        // One more worker, configured with a different cluster id: it boots, never joins.
        var larger = spec
        larger.pools = spec.pools.map { pool in
            var pool = pool
            if pool.name == "workers" { pool.count += 1 }
            return pool
        }
        let grown = larger
        let saved = first.saved.value
        let box = SharedBox(saved)
        let world = SimulatedWorld(state: saved) { box.value = $0 }
        let backend = ClusterBackend.simulated(spec: grown, world: world, configs: MinimalConfigRenderer(clusterName: spec.name, clusterID: "another-identity"))
        let options = ClusterExecutor.Options(until: .bootstrap, nodeTimeout: .seconds(900))
        let report = try SimulationRunLoop(clock: world.clock).run {
            let observed = try await ObservedCluster.observe(spec: grown, backend: backend)
            let plan = Planner.plan(spec: grown, observed: observed)
            return try await ClusterExecutor(spec: grown, backend: backend, options: options).apply(plan, observed: observed)
        }
        let stuck = try #require(report.nodes.first { $0.node == "home-workers-2" })
        #expect(stuck.state == .failed)
        #expect(stuck.message?.contains("did not finish within 15m00s") == true, "\(stuck.message ?? "")")
        #expect(report.elapsed >= .seconds(900) && report.elapsed < .seconds(1200), "\(report.elapsed)")
        #expect(report.nodes.filter { $0.node != "home-workers-2" }.allSatisfy { $0.state == .ready })
    }

    @Test func pollingANodeDoesNotRewriteTheState() throws {
        let spec = try Fixtures.hybridSpec(homeWorkers: 1)
        let first = SimulatedRun(spec: spec)
        first.expectConverged(try first.up())
        let writes = SharedBox(0)
        let world = SimulatedWorld(state: first.saved.value) { _ in writes.value += 1 }
        let backend = ClusterBackend.simulated(spec: spec, world: world, configs: MinimalConfigRenderer(clusterName: spec.name))
        // A converged cluster, read a hundred times over: nothing changes, nothing is written.
        try SimulationRunLoop(clock: world.clock).run {
            for _ in 0..<100 { _ = try await ObservedCluster.observe(spec: spec, backend: backend) }
        }
        #expect(writes.value <= 2, "\(writes.value) state writes for reads only")
    }
}
