import ArgumentParser
import ClusterKit
import Foundation
import Provisioners

struct DrillStop: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stop",
        abstract: "The kill switch: abort the running drill and leave the cluster repaired.",
        discussion: """
            Writes a stop request into the cluster's drill lease; the drill sees it at its next \
            probe round, ends the fault's repair at once (no waiting out nodeLostAfter) and waits \
            for steady state. This command waits for that and prints how it ended. When the drill \
            died without releasing the lease, this command repairs the node it powered off itself.

            On real providers the request travels through the Lease kube-system/clusterctl-drill, \
            so it reaches a drill started on another machine; that drill's report stays in that \
            machine's history, and this command then checks steady state itself.

            Exit codes: 0 the cluster is repaired (or no drill ran); 1 something is left to do \
            (it says what); 3 the drill lease could not be reached, nothing was changed.

            Examples:
              clusterctl drill stop home
              clusterctl drill stop home --simulate
            """)

    @OptionGroup var cluster: ClusterOptions
    @OptionGroup var runOptions: RunOptions

    func run() throws {
        try reportingErrors {
            let session = try Session(cluster, changes: true)
            let spec = session.spec
            let faults = try runOptions.parsedFaults(simulate: cluster.simulate)
            let lease = DrillCLI.lease(session)
            guard let record = try DrillCLI.reaching(lease, "read", cluster: spec.name, { try await $0.read() }) else {
                Terminal.out("No drill is running on cluster \(spec.name); nothing to stop.")
                return
            }
            if !record.isExpired(at: Date()) {
                let reason = "stopped by `clusterctl drill stop` (\(DrillCLI.holder))"
                _ = try DrillCLI.reaching(lease, "write to", cluster: spec.name) { try await $0.requestStop(reason: reason) }
                Terminal.error("asked \(record.holder) to stop\(record.scenario.map { " drill \($0)" } ?? ""); waiting for it to repair")
                var current: DrillLeaseRecord? = record
                while let running = current, running.holder == record.holder, !running.isExpired(at: Date()) {
                    guard ContinuousClock.now < session.deadline else {
                        throw ClusterError(.timeout, "the drill of \(record.holder) did not end within \(session.timeout)", hint: "run `clusterctl drill stop` again; it repairs once that drill's lease expires")
                    }
                    // A real cluster's lease is read through its API server: once a second is enough.
                    Thread.sleep(forTimeInterval: cluster.simulate ? 0.2 : 1)
                    do { current = try runBlocking { try await lease.read() } } catch let error as any RetryClassifying where error.isTransient {
                        // The API out of reach for a moment (the endpoint's IP moving): the last record read stands.
                    }
                }
                let report = try DrillHistory(clusterDirectory: session.stateDirectory).load().last { $0.startedAt >= record.acquiredAt.addingTimeInterval(-1) }
                guard let report else {
                    try checkSteadyState(session, after: record, faults: faults)
                    return
                }
                Terminal.out(report.summary)
                if report.steps.last?.name == "verify" && report.steps.last?.passed == true {
                    Terminal.out("The cluster is repaired: every probe passed after the repair.")
                    return
                }
                throw ClusterError(.partialFailure, "the cluster did not come back to steady state after the stop", hint: "run `clusterctl up \(spec.name)` and check `clusterctl status \(spec.name)`")
            }
            // The holder died: take the lease over and repair what it broke.
            let takeover = DrillLeaseRecord(holder: lease.holder, command: DrillCLI.commandLine, acquiredAt: Date())
            try DrillCLI.reaching(lease, "take", cluster: spec.name) { try await $0.acquire(takeover) }
            defer { _ = try? runBlocking { try await lease.release() } }
            guard let node = record.faultNode else {
                Terminal.out("The drill of \(record.holder) ended without releasing its lease and broke nothing; the lease was cleared.")
                return
            }
            try session.lockCluster()
            let pollInterval = runOptions.drillPollInterval
            let playbook = runOptions.playbookOptions()
            let repaired = try session.run(faults: faults, speed: runOptions.speed) { backend -> String in
                // The playbooks see what is left and do only that: a node already back is nothing to do.
                let scenario = DrillSpec.Scenario(rawValue: record.scenario ?? "") ?? .loseWorker
                let observed = try await ObservedCluster.observe(spec: spec, backend: backend)
                let machine = observed.machines.first { $0.identity.node == node }
                let fault = DrillFault(
                    scenario: scenario, node: node, providerID: machine?.providerID ?? "", role: machine?.identity.role ?? (scenario == .loseWorker ? .worker : .controlPlane),
                    drillStart: backend.time.now, injectedAt: backend.time.now)
                let result = try await FailoverDrillRepair(spec: spec, backend: backend, pollInterval: pollInterval, playbook: playbook, events: DrillCLI.progress).repair(fault, urgent: true)
                let steps = result.steps.filter { $0.name != "detect" }.map(\.name)
                return "\(node), powered off by the drill of \(record.holder), is repaired" + (steps.isEmpty ? "" : " (\(steps.joined(separator: ", ")))")
            }
            Terminal.out(repaired)
        }
    }

    /// The drill ended without a report here (it ran on another machine, whose history has it):
    /// one round of the drill's probes says whether the cluster is back.
    private func checkSteadyState(_ session: Session, after record: DrillLeaseRecord, faults: [SimulatedFault]) throws {
        let spec = session.spec
        let round = try session.run(faults: faults, speed: runOptions.speed) { backend in
            try await DrillProbes(spec: spec, backend: backend).run(.after, at: 0)
        }
        guard round.allPassed else {
            throw ClusterError(
                .partialFailure,
                "the drill of \(record.holder) ended, but the cluster is not back to steady state: \(round.failed.map { "\($0.name): \($0.detail)" }.joined(separator: "; "))",
                hint: "run `clusterctl up \(spec.name)` and check `clusterctl status \(spec.name)`")
        }
        Terminal.out("The drill of \(record.holder) ended (its report is in the drill history where it ran).")
        Terminal.out("The cluster is repaired: every probe passed after the repair.")
    }
}
