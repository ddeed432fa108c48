import ArgumentParser
import ClusterKit

struct Up: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Bring the cluster to its spec: images, machines, Talos configs, etcd bootstrap, Flux, health.",
        discussion: """
            Computes the plan and carries it out, with live progress per node. Running it again is \
            safe: it converges from wherever the last run stopped (even a crash) without duplicating \
            a machine or bootstrapping etcd twice.

            Stages, for --until: images, machines, bootstrap, gitops, health. A node that is not \
            Ready within --node-timeout fails, naming the last state seen; the others go on.

            Against real providers a successful run leaves the cluster's talosconfig and admin \
            kubeconfig (0600) in its clusterctl directory; --merge also merges them into \
            ~/.talos/config and ~/.kube/config ($TALOSCONFIG, $KUBECONFIG), keeping other contexts.

            Examples:
              clusterctl up home --simulate
              clusterctl up home --until machines
              clusterctl up lab --merge --node-timeout 15m
              clusterctl up home --simulate --inject ratelimit:create:hcloud*3 -o json
              clusterctl up home --force   # re-point a Flux that syncs another repo/path
            """)

    @OptionGroup var cluster: ClusterOptions
    @OptionGroup var runOptions: RunOptions
    @OptionGroup var output: OutputOptions

    @Option(help: "Stop cleanly after this stage.")
    var until: Stage?

    @Flag(help: "Point an installed Flux at the spec's gitops url, branch and path when it reconciles others (refused without it, as flux bootstrap refuses).")
    var force = false

    @Flag(help: "Also merge the cluster's talosconfig and kubeconfig into ~/.talos/config and ~/.kube/config (other contexts are kept).")
    var merge = false

    func run() throws {
        try reportingErrors {
            let faults = try runOptions.parsedFaults(simulate: cluster.simulate)
            let session = try Session(cluster, changes: true)
            try session.checkReachable(until)
            try session.lockCluster()
            let spec = session.spec
            let progress = ProgressView(output: output.output)
            let format = output.output
            let until = until
            let force = force
            let options = runOptions.executorOptions(until: until)
            let simulate = cluster.simulate
            let verdict = session.verdict
            let secrets = session.secrets
            let (report, clientConfigs) = try Self.closingStream(format: format, cluster: spec.name) { try session.run(faults: faults, speed: runOptions.speed) { backend -> (ExecutionReport, ClientConfigFiles?) in
                let observed = try await ObservedCluster.observe(spec: spec, backend: backend)
                try secrets.requireBundle(cluster: spec.name, machines: observed.machines)
                let plan = Planner.plan(spec: spec, observed: observed)
                try secrets.prepare(for: plan, until: until, talosVersion: spec.talos.version)
                verdict.record(observed, action: "its pools were left alone")
                verdict.record(plan)
                switch format {
                case .table: Terminal.error(PlanDocument.text(plan, spec: spec) + "\n")
                case .json: Terminal.out(try Terminal.json(PlanLine(plan: PlanDocument(plan)), pretty: false))
                case .yaml: Terminal.out(try Terminal.document(PlanLine(plan: PlanDocument(plan)), format: .yaml) + "\n---")
                }
                var options = options
                options.forceGitOps = force
                let executor = ClusterExecutor(spec: spec, backend: backend, options: options, events: progress.handle)
                let report = try await executor.apply(plan, observed: observed)
                // Simulated clusters have no nodes a client could reach.
                guard !simulate, report.succeeded, until.map({ $0 >= .bootstrap }) ?? true else { return (report, nil) }
                do {
                    return (report, try await ClientConfigFiles.fetch(spec: spec, backend: backend, secrets: secrets))
                } catch {
                    Terminal.error("warning: the cluster's talosconfig and kubeconfig could not be written: \(error)")
                    return (report, nil)
                }
            } }
            progress.finish()
            if let clientConfigs {
                let written = try clientConfigs.write(to: session.stateDirectory, merge: merge)
                Terminal.error("client configs written: " + written.joined(separator: ", "))
            }
            try ReportPrinter.print(report, output: format, simulated: cluster.simulate, requestedStop: until, problems: session.verdict.failures)
            if !report.succeeded { throw ExitCode(ExitStatus.failed) }
            try session.verdict.finish()
        }
    }
}

extension Up {
    /// Ends a `-o json` stream with its report line even when the run was interrupted or timed
    /// out, so a reader of the stream always sees how it ended.
    static func closingStream<Value>(format: OutputFormat, cluster: String, _ body: () throws -> Value) throws -> Value {
        do {
            return try body()
        } catch let error as Interrupted where format == .json {
            Terminal.out((try? Terminal.json(EndedReport(cluster: cluster, reason: "interrupted by \(error.signal)"), pretty: false)) ?? "")
            throw error
        } catch let error as ClusterError where format == .json && error.code == .timeout {
            Terminal.out((try? Terminal.json(EndedReport(cluster: cluster, reason: error.message), pretty: false)) ?? "")
            throw error
        }
    }
}

/// The report line of a `-o json` stream whose run was stopped before it could report.
struct EndedReport: Encodable {
    var type = "report"
    var cluster: String
    var succeeded = false
    var stopped = true
    var reason: String
}

/// The plan as the first JSON line of `up -o json`.
struct PlanLine: Encodable {
    var type = "plan"
    var plan: PlanDocument
}
