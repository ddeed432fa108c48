public import ArgumentParser
import ClusterKit
import Foundation
import Provisioners

struct DrillRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the spec's drills (or one scenario): break, let failover repair, measure, report.",
        discussion: """
            Checks steady state and the spec's guards first and refuses (exit 3) when the cluster \
            is degraded, too few control planes are Ready, or another drill holds the cluster's \
            drill lease. Then, per scenario: powers a node off, lets the repair run, probes before, \
            during and after (API, etcd quorum, nodes Ready, ingress IP), and stops early and \
            repairs when maxDuration passes, etcd quorum is at risk, a second node is lost, or \
            `clusterctl drill stop` asks. Each report goes into the drill history (JSON and \
            Markdown), the Prometheus textfile is rewritten, and one heartbeat is pushed to the URL \
            in the spec's heartbeatURLEnv.

            On real providers the fault is a power cut through the node's provider (Hetzner \
            poweroff, Proxmox status/stop, virsh destroy), the repair is the matching failover \
            playbook (failover.replacement: nodeLostAfter is waited out, manual mode stops and \
            says what to run), and the lease is the Lease kube-system/clusterctl-drill in the \
            cluster's Kubernetes API, so a drill started on another machine refuses this one. \
            Probe rounds run every 10 s; RTO is wall-clock time from the power cut to the \
            replacement healthy (or the ingress IP answering at its new holder).

            Exit codes: 0 every drill passed; 1 a drill failed or was aborted (its report says \
            why), or the heartbeat could not be sent; 3 refused, nothing was broken.

            Examples:
              clusterctl drill run home --scenario lose-worker
              clusterctl drill run home -o json > drill.json
              clusterctl drill run home --simulate --scenario move-ingress-ip
            """)

    @OptionGroup var cluster: ClusterOptions
    @OptionGroup var runOptions: RunOptions
    @OptionGroup var output: OutputOptions

    @Option(help: "Run only this scenario: lose-controlplane, lose-worker or move-ingress-ip.")
    var scenario: DrillSpec.Scenario?

    @Option(name: .customLong("metrics-dir"), help: ArgumentHelp(
        "Where the Prometheus .prom file goes (node_exporter's --collector.textfile.directory); default: the drill history.",
        valueName: "directory"))
    var metricsDirectory: String?

    func run() throws {
        try reportingErrors {
            let faults = try runOptions.parsedFaults(simulate: cluster.simulate)
            let session = try Session(cluster, changes: true)
            let spec = session.spec
            guard let drills = spec.drills else {
                throw ClusterError(.invalidSpec, "cluster \(spec.name) has no drills: section", hint: "add drills: (schedule, scenarios, guards) to \(cluster.specPath)")
            }
            let scenarios = scenario.map { [$0] } ?? drills.scenarios
            let lease = DrillCLI.lease(session)
            let record = DrillLeaseRecord(holder: lease.holder, command: DrillCLI.commandLine, acquiredAt: Date())
            try DrillCLI.reaching(lease, "take", cluster: spec.name) { try await $0.acquire(record) }
            // Released at the end, except when an interrupted drill leaves a node powered off:
            // the lease then keeps its fault node, and `drill stop` repairs it once it expires.
            var keepLease = false
            defer { if !keepLease { _ = try? runBlocking { try await lease.release() } } }
            try session.lockCluster()

            let history = DrillHistory(clusterDirectory: session.stateDirectory)
            let metricsDirectory = metricsDirectory.map { URL(fileURLWithPath: $0, isDirectory: true) } ?? history.directory
            let pollInterval = runOptions.drillPollInterval
            let playbook = runOptions.playbookOptions()
            let simulated = cluster.simulate
            let reports: [DrillReport]
            do { reports = try session.run(faults: faults, speed: runOptions.speed) { backend in
                let runner = DrillRunner(
                    spec: spec, backend: backend, injector: PowerDrillInjector(backend: backend, cluster: spec.name),
                    repair: FailoverDrillRepair(spec: spec, backend: backend, pollInterval: pollInterval, playbook: playbook, events: DrillCLI.progress), lease: lease,
                    simulated: simulated, options: DrillRunner.Options(pollInterval: pollInterval), events: DrillCLI.progress)
                var reports: [DrillReport] = []
                for scenario in scenarios {
                    Terminal.error("drill \(scenario.rawValue) on \(spec.name): starting")
                    let report: DrillReport
                    do { report = try await runner.run(scenario) } catch let error as ClusterError where error.code == .refused && !reports.isEmpty {
                        Terminal.error("drill \(scenario.rawValue): \(error.message); the remaining scenarios were skipped")
                        break
                    }
                    let file = try history.record(report)
                    try DrillMetrics(cluster: spec.name, scenarios: drills.scenarios.map(\.rawValue), reports: try history.load()).write(to: metricsDirectory)
                    Terminal.error("\(report.summary); report \(file.deletingPathExtension().path).md")
                    reports.append(report)
                    if report.outcome != .passed {
                        if scenario != scenarios.last { Terminal.error("the remaining scenarios were skipped: this one did not pass") }
                        break
                    }
                }
                return reports
            } } catch {
                if let left = try? runBlocking({ try await lease.read() }), left.holder == lease.holder, let node = left.faultNode {
                    keepLease = true
                    Terminal.error(
                        "\(node) is still powered off by this drill; `clusterctl drill stop \(cluster.cluster)\(cluster.simulate ? " --simulate" : "")` repairs it once this drill's lease expires (\(Int(left.durationSeconds)) s)")
                    // Something is broken: not a refusal, whose exit code (3) promises nothing was.
                    if let refusal = error as? ClusterError, refusal.code == .refused {
                        throw ClusterError(.partialFailure, "the drill stopped with \(node) powered off: \(refusal.message)", hint: refusal.hint, cause: refusal)
                    }
                }
                throw error
            }
            switch output.output {
            case .json, .yaml: Terminal.out(try DrillCLI.document(DrillRunDocument(reports: reports), format: output.output))
            case .table: Terminal.out(reports.map(\.summary).joined(separator: "\n"))
            }
            let heartbeatSent = DrillCLI.pushHeartbeat(reports, spec: drills)
            if !reports.allSatisfy({ $0.outcome == .passed }) || !heartbeatSent { throw ExitCode(ExitStatus.failed) }
        }
    }
}

struct DrillRunDocument: Encodable {
    var reports: [DrillReport]
}

extension DrillSpec.Scenario: ExpressibleByArgument {}
