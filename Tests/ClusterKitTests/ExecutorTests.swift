import ClusterKit
import ClusterTestSupport
import Provisioners
import Testing

/// Runs `plan` + `apply` against a simulated world on the virtual clock.
struct SimulatedRun {
    let spec: ClusterSpec
    let world: SimulatedWorld
    let backend: ClusterBackend

    init(spec: ClusterSpec, state: SimulatorState = SimulatorState(seed: 7), persist: @escaping @Sendable (SimulatorState) -> Void = { _ in }) {
        self.spec = spec
        world = SimulatedWorld(state: state, persist: persist)
        backend = .simulated(spec: spec, world: world, configs: MinimalConfigRenderer(clusterName: spec.name))
    }

    func plan() throws -> Plan {
        let spec = spec, backend = backend
        return try SimulationRunLoop(clock: world.clock).run {
            Planner.plan(spec: spec, observed: try await ObservedCluster.observe(spec: spec, backend: backend))
        }
    }

    func up(until: Stage? = nil) throws -> ExecutionReport {
        let spec = spec, backend = backend
        return try SimulationRunLoop(clock: world.clock).run {
            let observed = try await ObservedCluster.observe(spec: spec, backend: backend)
            let plan = Planner.plan(spec: spec, observed: observed)
            return try await ClusterExecutor(spec: spec, backend: backend, options: .init(until: until)).apply(plan, observed: observed)
        }
    }
}

@Suite struct ExecutorTests {
    @Test func upFromNothingBringsEveryNodeReadyAndBootstrapsOnce() throws {
        let spec = try Fixtures.hybridSpec()
        let run = SimulatedRun(spec: spec)
        let report = try run.up()
        #expect(report.succeeded, "\(report.nodes) \(report.failures)")
        #expect(report.healthy)
        #expect(report.nodes.count == 6)
        #expect(report.nodes.allSatisfy { $0.state == .ready })
        #expect(report.bootstrappedOn == "home-cp-1")
        #expect(report.gitopsInstalled)
        #expect(run.world.bootstrapCount(cluster: "home") == 1)
        #expect(report.elapsed > .seconds(200) && report.elapsed < .seconds(900))
    }

    @Test func rerunIsANoOp() throws {
        let run = SimulatedRun(spec: try Fixtures.hybridSpec())
        _ = try run.up()
        let plan = try run.plan()
        #expect(plan.isEmpty, "\(plan.summary)")
        let created = run.world.machineHistory(cluster: "home").count
        let again = try run.up()
        #expect(again.succeeded)
        #expect(run.world.machineHistory(cluster: "home").count == created)
        #expect(run.world.bootstrapCount(cluster: "home") == 1)
    }
}
