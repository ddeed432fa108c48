import ClusterKit
import ClusterTestSupport
import Foundation
import Provisioners
import Synchronization
import Testing

/// The drill runner against the simulator in-process, on the virtual clock.
@Suite struct DrillRunnerTests {
    static func spec(maxDuration: Duration = .seconds(45 * 60), mode: ReplacementPolicy.Mode = .automatic, requireHealthy: Bool = true) throws -> ClusterSpec {
        var spec = try Fixtures.hybridSpec()
        spec.failover = FailoverSpec(
            ingressIP: IngressIPSpec(name: "ingress", provider: "hcloud", candidatePools: ["cp"]),
            replacement: ReplacementPolicy(mode: mode, nodeLostAfter: .seconds(300)))
        spec.drills = DrillSpec(
            schedule: try CronSchedule(parsing: "30 2 * * 0"), scenarios: [.loseControlPlane, .loseWorker, .moveIngressIP],
            guards: DrillGuards(requireHealthy: requireHealthy, minReadyControlPlanes: 3, maxDuration: maxDuration), heartbeatURL: nil)
        return spec
    }

    /// Powers off the target and, like a second failure nobody planned, another node too.
    struct TwoNodeInjector: DrillFaultInjector {
        let inner: PowerDrillInjector
        let alsoFail: String
        let world: SimulatedWorld

        func powerOff(_ machine: ObservedMachine, scenario: DrillSpec.Scenario) async throws -> String {
            let line = try await inner.powerOff(machine, scenario: scenario)
            world.failMachine(node: alsoFail)
            return line
        }
    }

    /// The lease of a real cluster whose API is out of reach for a while after the fault (the
    /// ingress IP that moves is the API endpoint too): its first `failures` writes fail transiently.
    final class UnreachableLease: DrillLease, @unchecked Sendable {
        let inner: SimulatedDrillLease
        private let lock = NSLock()
        private var failures: Int
        private(set) var recordedFaults: [String?] = []

        init(_ inner: SimulatedDrillLease, failures: Int) {
            self.inner = inner
            self.failures = failures
        }

        private func reach() throws {
            try lock.withLock {
                guard failures > 0 else { return }
                failures -= 1
                throw ClusterError(.kubernetes, "connection refused by 203.0.113.10:6443", isTransient: true)
            }
        }

        func acquire(_ record: DrillLeaseRecord) async throws { try await inner.acquire(record) }
        func renew() async throws -> String? {
            try reach()
            return try await inner.renew()
        }
        func recordFault(node: String?, scenario: String) async throws {
            try reach()
            try await inner.recordFault(node: node, scenario: scenario)
            lock.withLock { recordedFaults.append(node) }
        }
        func release() async throws { try await inner.release() }
        func read() async throws -> DrillLeaseRecord? { try await inner.read() }
        func requestStop(reason: String) async throws -> DrillLeaseRecord? { try await inner.requestStop(reason: reason) }
    }

    func drill(
        _ run: SimulatedRun, _ scenario: DrillSpec.Scenario, injector: (any DrillFaultInjector)? = nil,
        lease wrap: (SimulatedDrillLease) -> any DrillLease = { $0 }, events: @escaping DrillEventSink = { _ in }
    ) throws -> DrillReport {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("drill-lease-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let simulated = SimulatedDrillLease(directory: directory, holder: "test")
        let lease = wrap(simulated)
        let spec = run.spec, backend = run.backend
        let runner = DrillRunner(
            spec: spec, backend: backend, injector: injector ?? PowerDrillInjector(backend: backend, cluster: spec.name),
            repair: FailoverDrillRepair(spec: spec, backend: backend, events: events), lease: lease, simulated: true, events: events)
        return try SimulationRunLoop(clock: run.world.clock).run {
            try await lease.acquire(DrillLeaseRecord(holder: "test", command: "test", acquiredAt: Date()))
            return try await runner.run(scenario)
        }
    }

    @Test(arguments: [DrillSpec.Scenario.loseWorker, .loseControlPlane, .moveIngressIP])
    func eachScenarioIsRepairedAndMeasured(scenario: DrillSpec.Scenario) throws {
        let run = SimulatedRun(spec: try Self.spec())
        run.expectConverged(try run.up())
        let report = try drill(run, scenario)
        #expect(report.outcome == .passed, "\(report.abortReason ?? "") \(report.steps)")
        let names = report.steps.map(\.name)
        let detection = try #require(report.detectionSeconds)
        let rto = try #require(report.rtoSeconds)
        // The provider and Talos show the power-off at the first poll (every 10 s), long before
        // Kubernetes would (40-55 s).
        #expect(detection >= 0 && detection <= 10)
        switch scenario {
        case .moveIngressIP:
            // The IP moves at once; the old holder is powered back on and waited for.
            #expect(names == ["guards", "inject", "detect", "move-ingress-ip", "verify-ingress", "power-on", "wait-ready", "verify"])
            #expect(rto < 60, "\(rto)")
        case .loseControlPlane:
            #expect(names == ["guards", "inject", "detect", "wait", "confirm-lost", "remove-etcd-member", "delete-kubernetes-node", "delete-machine", "create-replacement", "wait-healthy", "verify"])
            #expect(rto > 300 && rto < 45 * 60)
        default:
            #expect(names == ["guards", "inject", "detect", "wait", "confirm-lost", "delete-kubernetes-node", "delete-machine", "create-replacement", "wait-healthy", "verify"])
            // Not replaced before nodeLostAfter.
            #expect(rto > 300 && rto < 45 * 60)
        }
        #expect(report.probes.filter { $0.phase == .before }.allSatisfy { $0.passed })
        #expect(report.probes.contains { $0.phase == .during && !$0.passed })
        #expect(report.probes.filter { $0.phase == .after }.suffix(4).allSatisfy { $0.passed })
        switch scenario {
        case .loseWorker: #expect(report.target == "home-workers-2")
        case .moveIngressIP: #expect(report.target == "home-cp-1")
        default: #expect(report.target == "home-cp-home-1")
        }
        // The repair replaced the machine under the same name (or, for the IP, powered it back
        // on) and nothing else.
        let live = run.world.machineHistory(cluster: "home").filter { !$0.deleted }
        #expect(live.count == 6)
        let power = NodePowerControl(provisioners: run.backend.provisioners)
        let target = try #require(report.target)
        let state = try SimulationRunLoop(clock: run.world.clock).run { try await power.status(node: target, cluster: "home") }
        #expect(state.power == .on)
        if scenario == .moveIngressIP {
            let ingress = try SimulationRunLoop(clock: run.world.clock).run { try await FailoverObservation.observe(spec: run.spec, backend: run.backend) }
            #expect(ingress.ingressTarget != nil && ingress.ingressTarget != state.machine, "the IP moved off the node the drill powered off")
        }
        #expect(try run.plan().changes.isEmpty)
    }

    @Test func progressIsReportedAsItHappensAndEveryStepOfTheReportIsAnnounced() throws {
        let run = SimulatedRun(spec: try Self.spec())
        run.expectConverged(try run.up())
        let seen = Mutex<[DrillEvent]>([])
        let report = try drill(run, .loseControlPlane, events: { event in seen.withLock { $0.append(event) } })
        let events = seen.withLock { $0 }
        #expect(report.outcome == .passed)
        #expect(zip(events, events.dropFirst()).allSatisfy { $0.elapsed <= $1.elapsed }, "\(events.map(\.elapsed))")
        // Each step of the report went out live, when it ended, with the node it concerns.
        for step in report.steps {
            let match = events.first { $0.step == step.name && $0.kind == (step.passed ? .succeeded : .failed) }
            #expect(match != nil, "no event for step \(step.name)")
            #expect(abs((match?.elapsed.inSeconds ?? -1) - (step.started + step.duration)) < 0.01, "\(step.name)")
        }
        #expect(events.filter { $0.step != "guards" && $0.step != "verify" }.allSatisfy { $0.node != nil })
        // The long wait for nodeLostAfter is announced when it starts, not only when it ends.
        let waiting = try #require(events.first { $0.step == "wait" && $0.kind == .progress })
        let waited = try #require(report.steps.first { $0.name == "wait" })
        #expect(abs(waiting.elapsed.inSeconds - waited.started) < 0.01)
        #expect(waiting.message.contains("nodeLostAfter 5m00s"), "\(waiting.message)")
    }

    @Test func aLeaseOutOfReachForAWhileNeitherEndsTheDrillNorLosesItsFault() throws {
        let run = SimulatedRun(spec: try Self.spec())
        run.expectConverged(try run.up())
        var unreachable: UnreachableLease?
        let report = try drill(run, .moveIngressIP) { simulated in
            let lease = UnreachableLease(simulated, failures: 3)
            unreachable = lease
            return lease
        }
        #expect(report.outcome == .passed, "\(report.abortReason ?? "")")
        // The fault is recorded once the API answers again, and cleared after the repair.
        #expect(unreachable?.recordedFaults == ["home-cp-1", nil])
    }

    @Test func aSecondLostNodeAbortsAndRepairsBoth() throws {
        let run = SimulatedRun(spec: try Self.spec())
        run.expectConverged(try run.up())
        let injector = TwoNodeInjector(inner: PowerDrillInjector(backend: run.backend, cluster: "home"), alsoFail: "home-edge-1", world: run.world)
        let report = try drill(run, .loseWorker, injector: injector)
        #expect(report.outcome == .aborted)
        #expect(report.abortReason == "a second node was lost: home-edge-1")
        #expect(report.rtoSeconds == nil)
        // The urgent repair did not wait out nodeLostAfter, and steady state returned.
        #expect(!report.steps.contains { $0.name == "wait" })
        #expect(report.steps.last?.name == "verify" && report.steps.last?.passed == true)
        #expect(try run.plan().changes.isEmpty)
    }

    @Test func losingASecondControlPlaneIsQuorumAtRisk() throws {
        let run = SimulatedRun(spec: try Self.spec())
        run.expectConverged(try run.up())
        let injector = TwoNodeInjector(inner: PowerDrillInjector(backend: run.backend, cluster: "home"), alsoFail: "home-cp-2", world: run.world)
        let report = try drill(run, .loseControlPlane, injector: injector)
        #expect(report.target == "home-cp-home-1")
        #expect(report.outcome == .aborted)
        // Two of three voters gone: etcd has no leader, so the control-plane playbook refuses to
        // remove a member (that takes the etcd restore playbook), and the report says so.
        let reason = report.abortReason ?? ""
        #expect(reason.hasPrefix("etcd quorum at risk: "), "\(reason)")
        #expect(reason.contains("the repair after it failed"), "\(reason)")
        #expect(report.rtoSeconds == nil)
    }

    @Test func tooFewReadyControlPlanesAreRefusedEvenWithoutRequireHealthy() throws {
        let run = SimulatedRun(spec: try Self.spec(requireHealthy: false))
        run.expectConverged(try run.up())
        run.world.failMachine(node: "home-cp-2")
        let error = #expect(throws: ClusterError.self) { try drill(run, .loseWorker) }
        #expect(error?.code == .refused)
        #expect(error?.message.hasPrefix("only 2 control plane(s) are healthy (running, Talos answering, Ready) and guards.minReadyControlPlanes is 3") == true, "\(error?.message ?? "")")
    }

    @Test func maxDurationAbortsMidDrill() throws {
        let run = SimulatedRun(spec: try Self.spec(maxDuration: .seconds(120)))
        run.expectConverged(try run.up())
        let report = try drill(run, .loseWorker)
        #expect(report.outcome == .aborted)
        #expect(report.abortReason == "guards.maxDuration 2m00s exceeded")
        #expect(report.steps.last?.passed == true)
    }

    @Test func manualReplacementFailsTheDrillAndSaysWhy() throws {
        let run = SimulatedRun(spec: try Self.spec(mode: .manual))
        run.expectConverged(try run.up())
        let report = try drill(run, .loseWorker)
        #expect(report.outcome == .failed)
        #expect(report.abortReason?.contains("manual") == true)
    }

    @Test func aDegradedClusterIsRefusedAndNothingIsBroken() throws {
        let run = SimulatedRun(spec: try Self.spec())
        run.expectConverged(try run.up())
        run.world.failMachine(node: "home-workers-1")
        let error = #expect(throws: ClusterError.self) { try drill(run, .loseControlPlane) }
        #expect(error?.code == .refused)
        #expect(error?.message.contains("not healthy") == true)
        // Only the node that was already down needs replacing.
        #expect(try run.plan().changes.map(\.node) == ["home-workers-1"])
    }

    /// Kubernetes keeps a dead node Ready for 40-55 s: a drill started right after a node lost
    /// power must still be refused, from the provider's state and the silent Talos API.
    @Test func aNodeJustPoweredOffIsRefusedWhileStillReady() throws {
        let run = SimulatedRun(spec: try Self.spec())
        run.expectConverged(try run.up())
        let power = NodePowerControl(provisioners: run.backend.provisioners)
        let observed = try SimulationRunLoop(clock: run.world.clock).run {
            _ = try await power.apply(.off, node: "home-workers-1", cluster: "home")
            return try await ObservedCluster.observe(spec: run.spec, backend: run.backend)
        }
        #expect(observed.kubernetesNodes?.first { $0.name == "home-workers-1" }?.ready == true, "the test needs the node still Ready")
        let error = #expect(throws: ClusterError.self) { try drill(run, .loseControlPlane) }
        #expect(error?.code == .refused)
        #expect(error?.message.contains("nodes-up: down: home-workers-1 (stopped") == true, "\(error?.message ?? "")")
        // Nothing else was powered off.
        let states = try SimulationRunLoop(clock: run.world.clock).run {
            var states: [PowerState] = []
            for node in ["home-cp-home-1", "home-cp-1", "home-cp-2"] { states.append(try await power.status(node: node, cluster: "home").power) }
            return states
        }
        #expect(states == [.on, .on, .on])
    }
}
