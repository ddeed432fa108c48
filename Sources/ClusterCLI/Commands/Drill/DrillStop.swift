import ArgumentParser
import ClusterKit
import Foundation
import Provisioners

struct DrillStop: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stop",
        abstract: "The kill switch: abort the running drill and leave the cluster repaired.",
        discussion: """
            Writes a stop request into the cluster's drill lease; the drill sees it at its next
            probe round, ends the fault's repair at once (no waiting out nodeLostAfter) and waits
            for steady state. This command waits for that and prints how it ended. When the drill
            died without releasing the lease, this command repairs the node it powered off itself.

            Exit codes: 0 the cluster is repaired (or no drill ran); 1 something is left to do
            (it says what).

            Example:
              clusterctl drill stop home --simulate
            """)

    @OptionGroup var cluster: ClusterOptions

    func run() throws {
        try reportingErrors {
            let session = try Session(cluster, changes: true)
            let spec = session.spec
            guard cluster.simulate else {
                throw ClusterError(
                    .refused, "drills on real providers are not available in this build, so none can be running",
                    hint: "for a simulated drill: clusterctl drill stop \(cluster.cluster) --simulate")
            }
            let lease = DrillCLI.lease(session)
            guard let record = try runBlocking({ try await lease.read() }) else {
                Terminal.out("No drill is running on cluster \(spec.name); nothing to stop.")
                return
            }
            if !record.isExpired(at: Date()) {
                let reason = "stopped by `clusterctl drill stop` (\(DrillCLI.holder))"
                _ = try runBlocking { try await lease.requestStop(reason: reason) }
                Terminal.error("asked \(record.holder) to stop\(record.scenario.map { " drill \($0)" } ?? ""); waiting for it to repair")
                while let current = try runBlocking({ try await lease.read() }), current.holder == record.holder, !current.isExpired(at: Date()) {
                    guard ContinuousClock.now < session.deadline else {
                        throw ClusterError(.timeout, "the drill of \(record.holder) did not end within \(session.timeout)", hint: "run `clusterctl drill stop` again; it repairs once that drill's lease expires")
                    }
                    Thread.sleep(forTimeInterval: 0.2)
                }
                let report = try DrillHistory(clusterDirectory: session.stateDirectory).load().last { $0.startedAt >= record.acquiredAt.addingTimeInterval(-1) }
                guard let report else {
                    throw ClusterError(.partialFailure, "the drill ended without a report; the cluster may still miss \(record.faultNode ?? "a node")", hint: "run `clusterctl up \(spec.name)`")
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
            try runBlocking { try await lease.acquire(takeover) }
            defer { _ = try? runBlocking { try await lease.release() } }
            guard let node = record.faultNode else {
                Terminal.out("The drill of \(record.holder) ended without releasing its lease and broke nothing; the lease was cleared.")
                return
            }
            try session.lockCluster()
            let repaired = try session.run { backend -> String in
                // The playbooks see what is left and do only that: a node already back is nothing to do.
                let scenario = DrillSpec.Scenario(rawValue: record.scenario ?? "") ?? .loseWorker
                let observed = try await ObservedCluster.observe(spec: spec, backend: backend)
                let machine = observed.machines.first { $0.identity.node == node }
                let fault = DrillFault(
                    scenario: scenario, node: node, providerID: machine?.providerID ?? "", role: machine?.identity.role ?? (scenario == .loseWorker ? .worker : .controlPlane),
                    drillStart: backend.time.now, injectedAt: backend.time.now)
                let result = try await FailoverDrillRepair(spec: spec, backend: backend).repair(fault, urgent: true)
                let steps = result.steps.filter { $0.name != "detect" }.map(\.name)
                return "\(node), powered off by the drill of \(record.holder), is repaired" + (steps.isEmpty ? "" : " (\(steps.joined(separator: ", ")))")
            }
            Terminal.out(repaired)
        }
    }
}
