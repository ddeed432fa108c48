import Foundation
import ClusterKit
import ClusterTestSupport
import Provisioners
import Synchronization
import Testing

/// Runs `plan` + `apply` against a simulated world on the virtual clock, keeping the last state
/// the world saved, as the CLI keeps it on disk.
final class SimulatedRun: Sendable {
    let spec: ClusterSpec
    let world: SimulatedWorld
    let backend: ClusterBackend
    let saved: SharedBox<SimulatorState>
    let faults: [SimulatedFault]

    init(spec: ClusterSpec, state: SimulatorState = SimulatorState(seed: 7), faults: [SimulatedFault] = []) {
        self.spec = spec
        self.faults = faults
        let saved = SharedBox(state)
        self.saved = saved
        world = SimulatedWorld(state: state) { state in saved.value = state }
        for fault in faults { world.inject(fault) }
        backend = .simulated(spec: spec, world: world, configs: MinimalConfigRenderer(clusterName: spec.name))
    }

    /// A new process over what this one left on disk.
    func restarted(spec: ClusterSpec? = nil) -> SimulatedRun {
        SimulatedRun(spec: spec ?? self.spec, state: saved.value)
    }

    func plan() throws -> Plan {
        let spec = spec, backend = backend
        return try SimulationRunLoop(clock: world.clock).run {
            Planner.plan(spec: spec, observed: try await ObservedCluster.observe(spec: spec, backend: backend))
        }
    }

    func up(until: Stage? = nil, events: EventRecorder? = nil) throws -> ExecutionReport {
        let spec = spec, backend = backend
        let recorder = events ?? EventRecorder()
        let sink = recorder.sink
        let report = try SimulationRunLoop(clock: world.clock).run {
            try await SimulatedRun.upBody(spec: spec, backend: backend, until: until, sink: sink)
        }
        // The world saves after changes only; a process ending saves its time too, as the CLI
        // does (or the next one would start before this one ended), without the faults this
        // process was given that never fired.
        if !world.isCrashed {
            _ = world.withdrawFaults(like: faults)
            saved.value = world.snapshot()
        }
        return report
    }

    private static func upBody(spec: ClusterSpec, backend: ClusterBackend, until: Stage?, sink: @escaping ExecutionEventSink) async throws -> ExecutionReport {
        let observed = try await ObservedCluster.observe(spec: spec, backend: backend)
        let plan = Planner.plan(spec: spec, observed: observed)
        let executor = ClusterExecutor(spec: spec, backend: backend, options: ClusterExecutor.Options(until: until), events: sink)
        return try await executor.apply(plan, observed: observed)
    }

    /// Every desired node Ready, one live machine per node, etcd bootstrapped exactly once.
    func expectConverged(_ report: ExecutionReport, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(report.succeeded, "\(report.nodes.filter { $0.state == .failed }) \(report.failures)", sourceLocation: sourceLocation)
        #expect(report.healthy, sourceLocation: sourceLocation)
        let wanted = spec.pools.reduce(0) { $0 + $1.count }
        let live = world.machineHistory(cluster: spec.name).filter { !$0.deleted }
        #expect(live.count == wanted, "live machines: \(live.map(\.node))", sourceLocation: sourceLocation)
        #expect(Set(live.map(\.node)).count == live.count, "duplicate machines: \(live.map(\.node))", sourceLocation: sourceLocation)
        #expect(world.bootstrapCount(cluster: spec.name) == 1, sourceLocation: sourceLocation)
    }
}

@Suite struct ExecutorTests {
    @Test func upFromNothingBringsEveryNodeReadyAndBootstrapsOnce() throws {
        let run = SimulatedRun(spec: try Fixtures.hybridSpec())
        let report = try run.up()
        run.expectConverged(report)
        #expect(report.nodes.count == 6)
        #expect(report.nodes.allSatisfy { $0.state == .ready })
        #expect(report.bootstrappedOn == "home-cp-1")
        #expect(report.gitopsInstalled)
        // Hetzner's image build (4 min) then boot, install, bootstrap and kubelet: several minutes, simulated.
        #expect(report.elapsed > .seconds(300) && report.elapsed < .seconds(900), "\(report.elapsed)")
    }

    @Test func theHealthWaitSaysWhatItAwaitsEachTimeThatChanges() throws {
        let run = SimulatedRun(spec: try Fixtures.hybridSpec())
        let events = EventRecorder()
        run.expectConverged(try run.up(events: events))
        let waits = events.events.filter { $0.stage == .health && $0.kind == .progress }.map(\.message)
        // The joining control planes are promoted one at a time (etcd allows one learner), so the
        // wait names fewer of them as it goes, and no line repeats the one before it.
        #expect(waits.first?.contains("not voting:") == true, "\(waits)")
        #expect(zip(waits, waits.dropFirst()).allSatisfy { $0 != $1 }, "\(waits)")
        let awaited = waits.map { $0.components(separatedBy: "not voting: ").last?.components(separatedBy: ",").count ?? 0 }
        #expect(awaited == awaited.sorted(by: >), "\(waits)")
        #expect(events.events.last { $0.stage == .health }?.kind == .succeeded)
    }

    @Test func rerunIsANoOp() throws {
        let run = SimulatedRun(spec: try Fixtures.hybridSpec())
        run.expectConverged(try run.up())
        let plan = try run.plan()
        #expect(plan.isEmpty, "\(plan.summary)")
        let operationsBefore = run.world.operationLog.count
        let again = try run.up()
        run.expectConverged(again)
        #expect(again.bootstrappedOn == nil)
        #expect(!again.gitopsInstalled)
        let mutations = run.world.operationLog.dropFirst(operationsBefore).filter { [.create, .delete, .apply, .bootstrap].contains($0.operation) }
        #expect(mutations.isEmpty, "a re-run changed things: \(mutations)")
    }

    @Test func sameSeedSameRun() throws {
        let first = SimulatedRun(spec: try Fixtures.hybridSpec())
        let second = SimulatedRun(spec: try Fixtures.hybridSpec())
        let a = try first.up()
        let b = try second.up()
        #expect(a.elapsed == b.elapsed)
        #expect(first.world.operationLog == second.world.operationLog)
        let other = SimulatedRun(spec: try Fixtures.hybridSpec(), state: SimulatorState(seed: 8))
        #expect(try other.up().elapsed != a.elapsed)
    }

    @Test func untilStopsAfterEachStage() throws {
        let spec = try Fixtures.hybridSpec()
        let images = SimulatedRun(spec: spec)
        let afterImages = try images.up(until: .images)
        #expect(afterImages.nodes.isEmpty && afterImages.succeeded)
        #expect(images.world.machineHistory(cluster: "home").isEmpty)

        let machines = images.restarted()
        let afterMachines = try machines.up(until: .machines)
        #expect(afterMachines.nodes.allSatisfy { $0.state == .stopped })
        #expect(machines.world.machineHistory(cluster: "home").count == 6)
        #expect(machines.world.bootstrapCount(cluster: "home") == 0)

        let bootstrap = machines.restarted()
        let afterBootstrap = try bootstrap.up(until: .bootstrap)
        #expect(afterBootstrap.nodes.allSatisfy { $0.state == .ready })
        #expect(!afterBootstrap.gitopsInstalled)

        let rest = bootstrap.restarted()
        rest.expectConverged(try rest.up())
    }

    @Test func transientProviderFaultsAreRetriedWithoutDuplicates() throws {
        let faults = [
            SimulatedFault(kind: .rateLimit, operation: .create, target: "hcloud", count: 4),
            SimulatedFault(kind: .serverError, operation: .create, target: "workstation", count: 3),
            SimulatedFault(kind: .timeout, operation: .image, target: "hcloud"),
            SimulatedFault(kind: .serverError, operation: .apply, count: 2),
            SimulatedFault(kind: .serverError, operation: .bootstrap),
        ]
        let events = EventRecorder()
        let run = SimulatedRun(spec: try Fixtures.hybridSpec(), faults: faults)
        run.expectConverged(try run.up(events: events))
        let retries = events.events.filter { $0.kind == .retrying }
        #expect(retries.count >= 10, "\(retries.map(\.message))")
        #expect(retries.contains { $0.message.contains("rate limit") })
    }

    @Test func permanentFailureStopsOnlyItsNode() throws {
        let run = SimulatedRun(spec: try Fixtures.hybridSpec(), faults: [SimulatedFault(kind: .permanent, operation: .create, target: "home-workers-2")])
        let report = try run.up()
        #expect(!report.succeeded)
        let failed = report.nodes.filter { $0.state == .failed }
        #expect(failed.map(\.node) == ["home-workers-2"])
        #expect(failed.first?.message?.contains("quota exceeded") == true)
        #expect(report.nodes.filter { $0.state == .ready }.count == 5)
        #expect(run.world.bootstrapCount(cluster: "home") == 1)
        // The fault is gone; a second run finishes the job.
        run.expectConverged(try run.up())
    }

    @Test func lostBootstrapCandidateHandsBootstrapOn() throws {
        let run = SimulatedRun(spec: try Fixtures.hybridSpec(), faults: [SimulatedFault(kind: .permanent, operation: .create, target: "home-cp-1")])
        let report = try run.up()
        // The report names the control plane that took over, not the one the plan preferred.
        let bootstrapper = try #require(report.bootstrappedOn)
        #expect(bootstrapper != "home-cp-1" && bootstrapper.hasPrefix("home-cp"), "\(bootstrapper)")
        #expect(run.world.bootstrapCount(cluster: "home") == 1)
        #expect(report.nodes.filter { $0.state == .ready }.count == 5)
    }

    @Test func failedMachineIsReplacedUnderItsName() throws {
        let run = SimulatedRun(spec: try Fixtures.hybridSpec())
        run.expectConverged(try run.up())
        run.world.failMachine(node: "home-workers-1")
        let plan = try run.plan()
        #expect(plan.replaces == 1 && plan.creates == 0 && plan.deletes == 0, "\(plan.summary)")
        let report = try run.up()
        #expect(report.succeeded && report.healthy, "\(report.failures) \(report.nodes)")
        let history = run.world.machineHistory(cluster: "home").filter { $0.node == "home-workers-1" }
        #expect(history.map(\.deleted) == [true, false])
    }

    @Test func lostControlPlaneIsReplacedAndEtcdKeepsThreeMembers() throws {
        let run = SimulatedRun(spec: try Fixtures.hybridSpec())
        run.expectConverged(try run.up())
        run.world.failMachine(node: "home-cp-2")
        let report = try run.up()
        #expect(report.succeeded && report.healthy, "\(report.failures) \(report.nodes)")
        #expect(run.world.bootstrapCount(cluster: "home") == 1)
    }

    @Test func shrinkingAndGrowingAPoolKeepsNames() throws {
        var spec = try Fixtures.hybridSpec()
        let run = SimulatedRun(spec: spec)
        run.expectConverged(try run.up())
        spec.pools[2].count = 4
        let grown = run.restarted(spec: spec)
        let growPlan = try grown.plan()
        #expect(growPlan.changes.map(\.node) == ["home-workers-3", "home-workers-4"])
        grown.expectConverged(try grown.up())
        spec.pools[2].count = 1
        let shrunk = grown.restarted(spec: spec)
        let shrinkPlan = try shrunk.plan()
        #expect(shrinkPlan.changes.map(\.node) == ["home-workers-2", "home-workers-3", "home-workers-4"])
        #expect(shrinkPlan.deletes == 3)
        let report = try shrunk.up()
        #expect(report.succeeded && report.healthy)
        #expect(shrunk.world.machineHistory(cluster: "home").filter { !$0.deleted && $0.node.hasPrefix("home-workers") }.map(\.node) == ["home-workers-1"])
    }

    @Test func removingAControlPlaneLeavesEtcdFirst() throws {
        var spec = try Fixtures.hybridSpec(controlPlanes: 3)
        let run = SimulatedRun(spec: spec)
        run.expectConverged(try run.up())
        spec.pools[0].count = 1
        let shrunk = run.restarted(spec: spec)
        let report = try shrunk.up()
        #expect(report.succeeded && report.healthy, "\(report.failures)")
        let log = shrunk.world.operationLog
        let leave = log.firstIndex { $0.operation == .etcd && $0.node == "home-cp-2" }
        let delete = log.firstIndex { $0.description == "delete hcloud home-cp-2" }
        #expect(leave != nil && delete != nil && leave! < delete!, "\(log)")
    }
}

extension ExecutorTests {
    @Test func aControlPlaneWhoseEtcdMemberCannotBeRemovedIsKept() throws {
        var spec = try Fixtures.hybridSpec(controlPlanes: 3)
        let run = SimulatedRun(spec: spec)
        run.expectConverged(try run.up())
        spec.pools[0].count = 1
        // etcd refuses every removal of home-cp-2's member, whichever control plane is asked.
        let refused = SimulatedRun(spec: spec, state: run.saved.value, faults: [SimulatedFault(kind: .permanent, operation: .etcd, target: "home-cp-2", count: 50)])
        let report = try refused.up()
        let outcome = try #require(report.nodes.first { $0.node == "home-cp-2" })
        #expect(outcome.state == .failed)
        #expect(outcome.message?.contains("its machine was kept") == true, "\(outcome)")
        let live = refused.world.machineHistory(cluster: "home").filter { !$0.deleted }.map(\.node)
        #expect(live.contains("home-cp-2"), "\(live)")
        #expect(!refused.world.operationLog.contains { $0.description == "delete hcloud home-cp-2" })
        // Once etcd agrees, the same plan finishes the job.
        let healed = refused.restarted()
        let again = try healed.up()
        #expect(again.succeeded, "\(again.failures) \(again.nodes)")
        #expect(!healed.world.machineHistory(cluster: "home").filter { !$0.deleted }.map(\.node).contains("home-cp-2"))
    }
}

/// Records the floating IP address each node's config was rendered with.
final class FloatingIPRecordingRenderer: MachineConfigRendering, @unchecked Sendable {
    let inner: MinimalConfigRenderer
    private let lock = NSLock()
    private var seen: [String: String?] = [:]

    init(clusterName: String) { inner = MinimalConfigRenderer(clusterName: clusterName) }

    func render(node: NodeIdentity, addresses: [String], floatingIP: String?) throws -> MachineConfigPayload {
        lock.lock()
        seen[node.node] = floatingIP
        lock.unlock()
        return try inner.render(node: node, addresses: addresses, floatingIP: floatingIP)
    }

    var floatingIPs: [String: String?] {
        lock.lock()
        defer { lock.unlock() }
        return seen
    }
}

extension ExecutorTests {
    /// With the API on a DNS name, the ingress IP's candidates still carry its address: Hetzner
    /// routes a floating IP only to a server whose OS holds it.
    @Test func anIngressIPBehindADNSEndpointStillReachesTheConfigs() throws {
        var withIngress = try Fixtures.hybridSpec()
        withIngress.failover = FailoverSpec(
            ingressIP: IngressIPSpec(name: "ingress", provider: "hcloud", candidatePools: ["cp"]),
            replacement: ReplacementPolicy(mode: .automatic, nodeLostAfter: .seconds(300)))
        let spec = withIngress
        let renderer = FloatingIPRecordingRenderer(clusterName: spec.name)
        let world = SimulatedWorld(state: SimulatorState(seed: 7)) { _ in }
        let backend = ClusterBackend.simulated(spec: spec, world: world, configs: renderer)
        let report = try SimulationRunLoop(clock: world.clock).run {
            let observed = try await ObservedCluster.observe(spec: spec, backend: backend)
            let executor = ClusterExecutor(spec: spec, backend: backend, options: ClusterExecutor.Options(until: .machines))
            return try await executor.apply(Planner.plan(spec: spec, observed: observed), observed: observed)
        }
        #expect(report.succeeded, "\(report.failures)")
        let seen = renderer.floatingIPs
        let address = try #require(seen["home-cp-1"] ?? nil, "\(seen)")
        #expect(!address.isEmpty)
        // Every rendered config carries the same address; the renderer puts it on candidates only.
        #expect(Set(seen.values.compactMap { $0 }) == [address], "\(seen)")
    }
}

/// Kill the process at every step of a bring-up, then run `up` again: it must converge with
/// nothing duplicated, nothing healthy destroyed and etcd bootstrapped once.
@Suite struct CrashRecoveryTests {
    static func crashPoints() throws -> [SimulatedFault] {
        let clean = SimulatedRun(spec: try Fixtures.hybridSpec())
        _ = try clean.up()
        // One crash per operation the clean run performed: the n-th operation on a target dies.
        let log = clean.world.operationLog
        return log.indices.map { index in
            let entry = log[index]
            let target = entry.node ?? entry.provider
            let skip = log[..<index].filter { $0.matches(entry.operation, target: target) }.count
            return SimulatedFault(kind: .crash, operation: entry.operation, target: target, skip: skip)
        }
    }

    @Test func crashAtEveryStepThenRerunConverges() throws {
        let points = try Self.crashPoints()
        #expect(points.count > 100, "only \(points.count) crash points")
        for fault in points {
            let first = SimulatedRun(spec: try Fixtures.hybridSpec(), faults: [fault])
            _ = try first.up()
            #expect(first.world.isCrashed, "\(fault) never fired: \(first.world.operationLog.filter { $0.matches(fault.operation, target: fault.target) })")
            let second = first.restarted()
            let report = try second.up()
            second.expectConverged(report)
            #expect(second.world.machineHistory(cluster: "home").allSatisfy { !$0.deleted }, "after \(fault) a machine was destroyed")
        }
    }
}
