import ClusterKit
import ClusterTestSupport
import Provisioners
import Testing

/// The control-plane-lost playbook end to end on the simulator, after a simulated `up`.
@Suite struct FailoverControlPlaneTests {
    @Test func aLostControlPlaneIsReplacedUnderItsNameAndVotesAgain() throws {
        let run = SimulatedRun(spec: try SimulatedRun.failoverSpec())
        run.expectConverged(try run.up())
        run.world.lose("home-cp-2")
        let baseline = run.world.operationLog.count
        let events = PlaybookEventRecorder()
        let report = try run.failover(.controlPlaneLost, "home-cp-2", events: events)
        #expect(report.outcome == .completed, "\(report.reason ?? "") \(report.steps)")
        #expect(report.steps.map(\.step.action) == [.confirmLost, .removeEtcdMember, .deleteKubernetesNode, .deleteMachine, .createReplacement, .waitHealthy])
        #expect(report.steps.allSatisfy { $0.outcome == .done && $0.ended >= $0.started })
        // Three Talos probes five seconds apart, not one failed probe.
        let confirmed = try #require(report.confirmedLostAfter)
        #expect(confirmed >= .seconds(10), "\(confirmed)")
        let recovered = try #require(report.recoveredAfter)
        // Boot, install and reboot, an etcd join and a kubelet: minutes, not seconds.
        #expect(recovered > .seconds(100) && recovered < .seconds(600), "\(recovered)")
        #expect(run.history("home-cp-2") == [true, false])
        #expect(run.world.bootstrapCount(cluster: "home") == 1)
        // etcd's rule: remove the member, then delete the machine, then add the new one.
        let log = run.world.operationLog.dropFirst(baseline).map(\.description)
        let remove = try #require(log.firstIndex(of: "etcd home-cp-2"))
        let delete = try #require(log.firstIndex(of: "delete hcloud home-cp-2"))
        let create = try #require(log.lastIndex(of: "create hcloud home-cp-2"))
        #expect(remove < delete && delete < create)
        // Every step started and ended in the event stream, with timings.
        for action in report.steps.map(\.step.action) {
            #expect(events.events.contains { $0.action == action && $0.kind == .started })
            #expect(events.events.contains { $0.action == action && $0.kind == .succeeded })
        }
        // The cluster is whole: a second up changes nothing.
        let plan = try run.plan()
        #expect(plan.changes.isEmpty, "\(plan.summary)")
        let again = try run.failover(.controlPlaneLost, "home-cp-2")
        #expect(again.outcome == .nothingToDo, "\(again.reason ?? "")")
    }

    @Test func aHealthyControlPlaneIsLeftAlone() throws {
        let run = SimulatedRun(spec: try SimulatedRun.failoverSpec())
        run.expectConverged(try run.up())
        let baseline = run.world.operationLog.count
        let report = try run.failover(.controlPlaneLost, "home-cp-1")
        #expect(report.outcome == .nothingToDo)
        #expect(report.reason?.contains("home-cp-1 is healthy") == true, "\(report.reason ?? "")")
        #expect(!run.world.operationLog.dropFirst(baseline).contains { [.delete, .create].contains($0.operation) })
        #expect(try run.dryRun(.controlPlaneLost, "home-cp-1").get().isEmpty)
    }

    @Test func dryRunListsTheStepsAndChangesNothing() throws {
        let run = SimulatedRun(spec: try SimulatedRun.failoverSpec())
        run.expectConverged(try run.up())
        run.world.lose("home-cp-2")
        let before = run.world.snapshot()
        let steps = try run.dryRun(.controlPlaneLost, "home-cp-2").get()
        #expect(steps.map(\.action) == [.confirmLost, .removeEtcdMember, .deleteKubernetesNode, .deleteMachine, .createReplacement, .waitHealthy])
        #expect(steps[1].detail.contains("through a healthy control plane"))
        var after = run.world.snapshot()
        after.now = before.now
        #expect(after == before)
    }

    @Test func aWorkerNameIsRefusedForTheControlPlanePlaybook() throws {
        let run = SimulatedRun(spec: try SimulatedRun.failoverSpec())
        run.expectConverged(try run.up())
        run.world.lose("home-workers-1")
        let report = try run.failover(.controlPlaneLost, "home-workers-1")
        #expect(report.outcome == .refused)
        #expect(report.reason?.contains("worker-lost") == true, "\(report.reason ?? "")")
        #expect(run.history("home-workers-1") == [false])
    }
}

/// The guards: each refusal says why and changes nothing.
@Suite struct FailoverGuardTests {
    @Test func losingQuorumIsRefused() throws {
        // Two control planes: one lost leaves one of two voters, no quorum.
        let run = SimulatedRun(spec: try SimulatedRun.failoverSpec(controlPlanes: 2))
        run.expectConverged(try run.up())
        run.world.lose("home-cp-2")
        let baseline = run.world.operationLog.count
        let report = try run.failover(.controlPlaneLost, "home-cp-2")
        #expect(report.outcome == .refused)
        #expect(report.reason?.contains("quorum") == true, "\(report.reason ?? "")")
        #expect(!run.world.operationLog.dropFirst(baseline).contains { $0.operation == .delete || $0.operation == .create })
        #expect(run.history("home-cp-2") == [false])
    }

    @Test func anotherUnhealthyControlPlaneIsRefused() throws {
        // Five control planes: two lost still leaves a quorum, but replacing one while the
        // other is down is refused.
        let run = SimulatedRun(spec: try SimulatedRun.failoverSpec(controlPlanes: 5))
        run.expectConverged(try run.up())
        run.world.lose("home-cp-3")
        run.world.lose("home-cp-4")
        let baseline = run.world.operationLog.count
        let report = try run.failover(.controlPlaneLost, "home-cp-4")
        #expect(report.outcome == .refused)
        #expect(report.reason?.contains("another control plane, home-cp-3, is unhealthy") == true, "\(report.reason ?? "")")
        #expect(!run.world.operationLog.dropFirst(baseline).contains { $0.operation == .delete || $0.operation == .create || $0.operation == .etcd && $0.node == "home-cp-4" })
    }

    /// A cluster growing a third `cp` control plane, caught while etcd lists it as a learner;
    /// `members` reads etcd's member list through the cluster's control planes.
    private func growingWithALearner() throws -> (run: SimulatedRun, learner: EtcdMember, members: () throws -> [EtcdMember]) {
        var spec = try SimulatedRun.failoverSpec()
        let run = SimulatedRun(spec: spec)
        run.expectConverged(try run.up())
        spec.pools[0].count = 3
        let growing = run.restarted(spec: spec)
        _ = try growing.up(until: .machines)
        let grown = spec
        let backend = growing.backend
        let members = { try SimulationRunLoop(clock: growing.world.clock).run { try await ObservedCluster.observe(spec: grown, backend: backend).etcdMembers } }
        var joining: EtcdMember?
        for _ in 0..<600 where joining == nil {
            growing.wait(.seconds(1))
            joining = try members().first { $0.isLearner }
        }
        let learner = try #require(joining)
        #expect(learner.hostname == "home-cp-3")
        return (growing, learner, members)
    }

    @Test func anotherNodesLearnerIsRefused() throws {
        let (growing, _, _) = try growingWithALearner()
        growing.world.lose("home-cp-2")
        let report = try growing.failover(.controlPlaneLost, "home-cp-2")
        #expect(report.outcome == .refused)
        #expect(report.reason?.contains("(home-cp-3) is a learner") == true, "\(report.reason ?? "")")
        #expect(growing.history("home-cp-2") == [false])
    }

    @Test func aControlPlaneLostWhileALearnerStaysOneUntilItsPlaybookRemovesIt() throws {
        let (growing, learner, members) = try growingWithALearner()
        growing.world.lose("home-cp-3")
        // Long past its promotion time: etcd never promotes a learner that is not in sync, so
        // it stays listed as a learner, holding the one learner slot.
        growing.wait(.seconds(30 * 60))
        #expect(try members().filter(\.isLearner).map(\.id) == [learner.id])

        let report = try growing.failover(.controlPlaneLost, "home-cp-3")
        #expect(report.outcome == .completed, "\(report.reason ?? "")")
        #expect(report.steps.map(\.step.action).contains(.removeEtcdMember))
        let after = try members()
        #expect(after.allSatisfy { !$0.isLearner } && !after.contains { $0.id == learner.id })
        #expect(after.map(\.hostname).sorted() == ["home-cp-1", "home-cp-2", "home-cp-3", "home-cp-home-1"], "\(after)")
    }

    @Test func theOnlyControlPlaneIsRefused() throws {
        let run = SimulatedRun(spec: try SimulatedRun.failoverSpec(controlPlanes: 1))
        run.expectConverged(try run.up())
        let lost = run.spec.pools.first { $0.role == .controlPlane && $0.count > 0 }.map { "home-\($0.name)-1" } ?? "home-cp-1"
        run.world.lose(lost)
        let report = try run.failover(.controlPlaneLost, lost)
        #expect(report.outcome == .refused)
        #expect(report.reason?.contains("snapshot") == true, "\(report.reason ?? "")")
    }
}

/// Faults during recovery: the playbook stops safely, says why, destroys nothing healthy, and a
/// re-run finishes the job.
@Suite struct FailoverFaultTests {
    @Test func aSecondControlPlaneLostMidwayStopsThePlaybook() throws {
        let run = SimulatedRun(spec: try SimulatedRun.failoverSpec())
        run.expectConverged(try run.up())
        run.world.lose("home-cp-2")
        // home-cp-1 dies while the replacement boots.
        let report = try run.failover(.controlPlaneLost, "home-cp-2", losing: ("home-cp-1", .seconds(60)))
        #expect(report.outcome == .refused, "\(report.outcome) \(report.reason ?? "")")
        #expect(report.reason?.contains("home-cp-1 stopped answering") == true, "\(report.reason ?? "")")
        #expect(report.steps.last?.step.action == .createReplacement)
        // Nothing healthy was destroyed: home-cp-1 was lost, not deleted; the home control plane stands.
        #expect(run.history("home-cp-1") == [false])
        #expect(run.history("home-cp-home-1") == [false])
        #expect(run.world.bootstrapCount(cluster: "home") == 1)
    }

    @Test func aReplacementThatCannotBeCreatedFailsThenARerunFinishes() throws {
        let run = SimulatedRun(spec: try SimulatedRun.failoverSpec())
        run.expectConverged(try run.up())
        run.world.lose("home-cp-2")
        run.world.inject(SimulatedFault(kind: .permanent, operation: .create, target: "home-cp-2"))
        let report = try run.failover(.controlPlaneLost, "home-cp-2")
        #expect(report.outcome == .failed)
        #expect(report.reason?.contains("did not come up") == true, "\(report.reason ?? "")")
        #expect(run.history("home-cp-2") == [true])
        // The same process (or a new one over the state it saved at its end) runs it again.
        let again = try run.failover(.controlPlaneLost, "home-cp-2")
        #expect(again.outcome == .completed, "\(again.reason ?? "") \(again.steps)")
        #expect(again.steps.map(\.step.action) == [.createReplacement, .waitHealthy])
    }

    @Test func etcdRefusingTheRemovalStopsWithoutRetrying() throws {
        let run = SimulatedRun(spec: try SimulatedRun.failoverSpec())
        run.expectConverged(try run.up())
        run.world.lose("home-cp-2")
        run.world.inject(SimulatedFault(kind: .permanent, operation: .etcd, target: "home-cp-2", count: 50))
        let report = try run.failover(.controlPlaneLost, "home-cp-2")
        #expect(report.outcome == .failed || report.outcome == .refused)
        #expect(report.steps.last?.step.action == .removeEtcdMember)
        #expect(run.history("home-cp-2") == [false], "the machine is kept while etcd lists its member")
    }

    static let crashPoints = [
        "crash:status:home-cp-2", "crash:etcd:home-cp-2", "crash:kubernetes:home-cp-2", "crash:delete:home-cp-2", "crash:create:home-cp-2",
        "crash:status:home-cp-2@4",
    ]

    @Test(arguments: crashPoints)
    func aCrashAtAnyStepThenARerunFinishes(_ fault: String) throws {
        let run = SimulatedRun(spec: try SimulatedRun.failoverSpec())
        run.expectConverged(try run.up())
        run.world.lose("home-cp-2")
        run.world.inject(try SimulatedFault(parsing: fault))
        let crashed = try run.failover(.controlPlaneLost, "home-cp-2")
        #expect(run.world.isCrashed, "the fault \(fault) did not fire")
        #expect(crashed.outcome != .completed)
        let rerun = run.restarted()
        let report = try rerun.failover(.controlPlaneLost, "home-cp-2")
        #expect(report.outcome == .completed, "\(fault): \(report.reason ?? "") \(report.steps.map(\.step.action))")
        #expect(rerun.world.liveMachineCount(cluster: "home", node: "home-cp-2") == 1)
        #expect(rerun.liveNodes == ["home-cp-1", "home-cp-2", "home-cp-home-1", "home-workers-1", "home-workers-2", "home-edge-1"])
        #expect(rerun.world.bootstrapCount(cluster: "home") == 1)
    }
}

extension FailoverFaultTests {
    @Test func providerRateLimitsAndServerErrorsAreRetried() throws {
        let run = SimulatedRun(spec: try SimulatedRun.failoverSpec())
        run.expectConverged(try run.up())
        run.world.lose("home-cp-2")
        for fault in ["ratelimit:create:hcloud*3", "5xx:delete:home-cp-2*2", "5xx:list:hcloud*2", "ratelimit:kubernetes*2"] {
            run.world.inject(try SimulatedFault(parsing: fault))
        }
        let events = PlaybookEventRecorder()
        let report = try run.failover(.controlPlaneLost, "home-cp-2", events: events)
        #expect(report.outcome == .completed, "\(report.reason ?? "")")
        #expect(events.events.filter { $0.kind == .retrying }.count >= 5, "\(events.events.filter { $0.kind == .retrying })")
        #expect(run.history("home-cp-2") == [true, false])
    }

    @Test func aReplacementThatNeverBootsFailsThenARerunReplacesIt() throws {
        let run = SimulatedRun(spec: try SimulatedRun.failoverSpec())
        run.expectConverged(try run.up())
        run.world.lose("home-cp-2")
        // The new machine dies as soon as the provider accepts it.
        run.world.inject(SimulatedFault(kind: .machineFailure, operation: .create, target: "home-cp-2"))
        let report = try run.failover(.controlPlaneLost, "home-cp-2")
        #expect(report.outcome == .failed)
        #expect(report.reason?.contains("did not come up") == true, "\(report.reason ?? "")")
        #expect(run.history("home-cp-2") == [true, false])
        // The dead replacement is itself a lost machine: the next run replaces it.
        let again = try run.failover(.controlPlaneLost, "home-cp-2")
        #expect(again.outcome == .completed, "\(again.reason ?? "") \(again.steps.map(\.step.action))")
        #expect(again.steps.map(\.step.action) == [.confirmLost, .deleteMachine, .createReplacement, .waitHealthy])
        #expect(run.history("home-cp-2") == [true, true, false])
        #expect(run.liveNodes == ["home-cp-1", "home-cp-2", "home-cp-home-1", "home-workers-1", "home-workers-2", "home-edge-1"])
    }
}

extension FailoverControlPlaneTests {
    @Test func aControlPlaneWhoseMachineVanishedIsReplaced() throws {
        let run = SimulatedRun(spec: try SimulatedRun.failoverSpec())
        run.expectConverged(try run.up())
        // Deleted in the provider's console: no machine, but etcd and Kubernetes still list it.
        run.world.lose("home-cp-home-1", .vanished)
        let steps = try run.dryRun(.controlPlaneLost, "home-cp-home-1").get()
        #expect(steps.map(\.action) == [.removeEtcdMember, .deleteKubernetesNode, .createReplacement, .waitHealthy])
        let report = try run.failover(.controlPlaneLost, "home-cp-home-1")
        #expect(report.outcome == .completed, "\(report.reason ?? "")")
        #expect(run.history("home-cp-home-1") == [true, false])
        #expect(run.world.bootstrapCount(cluster: "home") == 1)
    }
}
