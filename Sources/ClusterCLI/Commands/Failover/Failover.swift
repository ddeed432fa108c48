public import ArgumentParser
import ClusterKit

struct Failover: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a failover playbook: replace a lost control plane or worker, or move the ingress IP.",
        discussion: """
            controlplane-lost NODE: confirm NODE is gone (provider, Talos API, Kubernetes), \
            remove its etcd member through a healthy control plane, delete its Kubernetes node \
            and machine, create it again under the same name and role, and wait until it votes \
            in etcd and is Ready. Refused while another control plane is unhealthy, another member is \
            a learner or has no name yet, or removing it breaks quorum.

            worker-lost NODE: confirm NODE is gone, cordon and drain it if it still answers, \
            replace it, and wait until it is Ready.

            ingress-ip [NODE]: move the ingress floating IP to a healthy node of the \
            failover.ingressIP candidate pools (or to NODE) and wait until it answers there; \
            reports the assign-to-reachable time.

            Every step is logged with its timing. A playbook can be stopped at any step and run \
            again: it looks at what exists and continues. It never deletes a machine that answers \
            or removes a healthy etcd member. --dry-run prints the steps without acting.

            Exit status: 0 done (or nothing to do), 1 a step failed (run again to finish), \
            2 bad input, 3 refused (the reason is printed; nothing unsafe was done).

            Examples:
              clusterctl failover home controlplane-lost home-cp-3 --dry-run
              clusterctl failover home worker-lost home-workers-2 --simulate
              clusterctl failover home ingress-ip -o json
            """)

    @OptionGroup var cluster: ClusterOptions
    @OptionGroup var runOptions: RunOptions
    @OptionGroup var output: OutputOptions

    @Argument(help: ArgumentHelp("The playbook: \(PlaybookKind.allCases.map(\.rawValue).joined(separator: ", ")).", valueName: "playbook"))
    var playbook: PlaybookKind

    @Argument(help: "The lost node (controlplane-lost, worker-lost), or the node that should hold the ingress IP.")
    var node: String?

    @Flag(help: "Print the steps the playbook would take now, and change nothing.")
    var dryRun = false

    func validate() throws {
        if playbook.needsNode && (node ?? "").isEmpty {
            throw ValidationError("\(playbook.rawValue) needs the lost node's name, e.g. `clusterctl failover home \(playbook.rawValue) home-cp-3`")
        }
    }

    func run() throws {
        try reportingErrors {
            let faults = try runOptions.parsedFaults(simulate: cluster.simulate)
            let session = try Session(cluster, changes: !dryRun)
            if !dryRun { try session.lockCluster() }
            let spec = session.spec
            let kind = playbook
            let node = node
            let format = output.output
            let options = runOptions.playbookOptions()
            if dryRun {
                let planned: Result<[PlaybookStep], ClusterError> = try session.run { backend in
                    let playbook = FailoverPlaybook(kind, node: node, spec: spec, backend: backend, options: options)
                    let observed = try await playbook.observe()
                    do throws(ClusterError) { return .success(try playbook.plan(observed: observed)) } catch { return .failure(error) }
                }
                try PlaybookPrinter.printPlan(planned, playbook: kind, node: node, cluster: spec.name, output: format)
                if case .failure(let error) = planned { throw ExitCode(error.code == .refused ? ExitStatus.refused : ExitStatus.failed) }
                return
            }
            let printer = PlaybookPrinter(output: format)
            let report = try session.run(faults: faults, speed: runOptions.speed) { backend in
                try await FailoverPlaybook(kind, node: node, spec: spec, backend: backend, options: options, events: printer.handle).run()
            }
            try printer.print(report, simulated: cluster.simulate)
            switch report.outcome {
            case .completed, .nothingToDo: try session.verdict.finish()
            case .refused: throw ExitCode(ExitStatus.refused)
            case .failed: throw ExitCode(ExitStatus.failed)
            }
        }
    }
}

extension PlaybookKind: ExpressibleByArgument {}
