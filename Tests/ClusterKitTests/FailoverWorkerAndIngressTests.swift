import ClusterKit
import ClusterTestSupport
import Provisioners
import Testing

/// The worker-lost and ingress-IP playbooks end to end on the simulator.
@Suite struct FailoverWorkerAndIngressTests {
    @Test func aLostWorkerThatStillAnswersIsDrainedThenReplaced() throws {
        let run = SimulatedRun(spec: try SimulatedRun.failoverSpec())
        run.expectConverged(try run.up())
        run.world.addWorkload(cluster: "home", name: "web", replicas: 4)
        run.wait(.seconds(10))
        run.world.lose("home-workers-1")
        // Within the node-monitor grace period its node is still Ready: drain first.
        let report = try run.failover(.workerLost, "home-workers-1")
        #expect(report.outcome == .completed, "\(report.reason ?? "")")
        #expect(report.steps.map(\.step.action) == [.confirmLost, .cordonAndDrain, .deleteKubernetesNode, .deleteMachine, .createReplacement, .waitHealthy])
        #expect(run.history("home-workers-1") == [true, false])
        #expect(!run.world.operationLog.contains { $0.operation == .etcd && $0.node == "home-workers-1" })
        // No other machine was touched.
        #expect(!run.world.operationLog.contains { $0.operation == .delete && $0.node != "home-workers-1" })
    }

    @Test func aWorkerLongGoneIsReplacedWithoutADrain() throws {
        let run = SimulatedRun(spec: try SimulatedRun.failoverSpec())
        run.expectConverged(try run.up())
        run.world.lose("home-edge-1")
        // Past the 40-55 s the node controller takes, the node is NotReady.
        run.wait(.seconds(60))
        let steps = try run.dryRun(.workerLost, "home-edge-1").get()
        #expect(steps.map(\.action) == [.confirmLost, .deleteKubernetesNode, .deleteMachine, .createReplacement, .waitHealthy])
        let report = try run.failover(.workerLost, "home-edge-1")
        #expect(report.outcome == .completed, "\(report.reason ?? "")")
    }

    @Test func aCrashDuringAWorkerReplacementThenARerunFinishes() throws {
        let run = SimulatedRun(spec: try SimulatedRun.failoverSpec())
        run.expectConverged(try run.up())
        run.wait(.seconds(60))
        run.world.lose("home-workers-2")
        run.world.inject(SimulatedFault(kind: .crash, operation: .delete, target: "home-workers-2"))
        #expect(try run.failover(.workerLost, "home-workers-2").outcome == .failed)
        #expect(run.world.isCrashed)
        let rerun = run.restarted()
        let report = try rerun.failover(.workerLost, "home-workers-2")
        #expect(report.outcome == .completed, "\(report.reason ?? "")")
        #expect(rerun.history("home-workers-2") == [true, false])
    }

    @Test func theIngressIPMovesToAHealthyCandidateAndAnswersThere() throws {
        let run = SimulatedRun(spec: try SimulatedRun.failoverSpec())
        run.expectConverged(try run.up())
        #expect(try run.failover(.ingressIP, nil).outcome == .nothingToDo)
        run.world.lose("home-cp-1")
        let report = try run.failover(.ingressIP, nil)
        #expect(report.outcome == .completed, "\(report.reason ?? "")")
        #expect(report.steps.map(\.step.action) == [.moveIngressIP, .verifyIngress])
        #expect(report.ingressHolder == "home-cp-2")
        // Assign-to-reachable is the routing delay the simulator models (12-17 s measured).
        let reachable = try #require(report.ingressReachableAfter)
        #expect(reachable >= .seconds(14) && reachable < .seconds(20), "\(reachable)")
        // Run again: the IP answers at a healthy holder, nothing to do.
        #expect(try run.failover(.ingressIP, nil).outcome == .nothingToDo)
    }

    @Test func theIngressIPIsNotMovedToAnUnhealthyNode() throws {
        let run = SimulatedRun(spec: try SimulatedRun.failoverSpec())
        run.expectConverged(try run.up())
        run.world.lose("home-cp-2")
        let report = try run.failover(.ingressIP, "home-cp-2")
        #expect(report.outcome == .refused)
        #expect(report.reason?.contains("not healthy") == true, "\(report.reason ?? "")")
        run.world.lose("home-cp-1")
        let none = try run.failover(.ingressIP, nil)
        #expect(none.outcome == .refused)
        #expect(none.reason?.contains("no healthy node in the candidate pools") == true, "\(none.reason ?? "")")
    }
}

extension FailoverWorkerAndIngressTests {
    @Test(arguments: ["crash:resources:home-cp-2", "crash:list:hcloud@6"])
    func aCrashWhileMovingTheIPThenARerunFinishes(_ fault: String) throws {
        let run = SimulatedRun(spec: try SimulatedRun.failoverSpec())
        run.expectConverged(try run.up())
        run.world.lose("home-cp-1")
        run.world.inject(try SimulatedFault(parsing: fault))
        let crashed = try run.failover(.ingressIP, nil)
        #expect(run.world.isCrashed, "the fault \(fault) did not fire")
        #expect(crashed.outcome != .completed)
        let rerun = run.restarted()
        let report = try rerun.failover(.ingressIP, nil)
        #expect(report.succeeded, "\(fault): \(report.reason ?? "")")
        #expect(report.ingressHolder == "home-cp-2")
        #expect(report.steps.last?.step.action == .verifyIngress)
        #expect(report.steps.last?.outcome != .failed)
    }
}

extension FailoverWorkerAndIngressTests {
    @Test func aSecondWorkerLostDuringAReplacementIsNotWaitedFor() throws {
        let run = SimulatedRun(spec: try SimulatedRun.failoverSpec())
        run.expectConverged(try run.up())
        run.world.lose("home-edge-1")
        run.wait(.seconds(60))
        // home-workers-1 was Ready when the playbook looked; it dies while the replacement boots.
        let report = try run.failover(.workerLost, "home-edge-1", losing: ("home-workers-1", .seconds(30)))
        #expect(report.outcome == .completed, "\(report.reason ?? "")")
        let wait = try #require(report.steps.last)
        #expect(wait.step.action == .waitHealthy)
        #expect(wait.message.hasSuffix("not waited for, lost meanwhile: home-workers-1"), "\(wait.message)")
        #expect(run.history("home-workers-1") == [false], "the playbook leaves the other lost worker to its own replacement")
    }
}
