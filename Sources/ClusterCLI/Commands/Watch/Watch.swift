import ArgumentParser
import ClusterKit
import Foundation

struct Watch: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Watch the cluster and run the failover playbooks when a node is lost.",
        discussion: """
            Probes every node's Talos API every 5 s and lists the machines every 10 s (one call \
            per provider, whatever the number of nodes). A node silent on two probes in a row is \
            lost: detected within 5-15 s, long before Kubernetes marks it NotReady (40-55 s). \
            When it held the ingress floating IP, the IP moves to a healthy candidate at once. \
            After failover.replacement.nodeLostAfter the node is replaced (replacement.mode: \
            automatic) or the command to do it is printed (manual).

            A replacement runs in the background while the watch keeps probing, so the IP still \
            moves at once when its holder is lost meanwhile. One replacement runs at a time (etcd \
            adds one learner at a time); a second lost node's waits its turn. The watch holds the \
            cluster's lock while any of its playbooks runs: nothing runs while a drill or another \
            command holds it, and nothing else gets in meanwhile.

            When --for ends while a replacement runs, the replacement is stopped; the command \
            names the step it reached (and any replacement still waiting its turn) and exits 1. \
            Run the failover playbook it names to finish the job.

            Metrics for Prometheus are served on http://127.0.0.1:9464/metrics (nodes seen and \
            lost, last detection, last playbook outcome, replacements running and waiting).

            Under --simulate, --for says how much simulated time to watch.

            --install writes a systemd unit (clusterctl-watch-CLUSTER.service, restarted on \
            failure) instead of watching; provider tokens go in /etc/clusterctl/CLUSTER.env \
            (mode 0600), never in the unit. Running the watcher inside the cluster instead \
            (one replica holding a Lease) cannot cover losing the whole control plane: the \
            watcher would go down with it.

            Examples:
              clusterctl watch home
              clusterctl watch home --install
              clusterctl watch home --metrics-port 0
              clusterctl watch home --simulate --for 15m -o json
            """)

    @OptionGroup var cluster: ClusterOptions
    @OptionGroup var runOptions: RunOptions
    @OptionGroup var output: OutputOptions

    @Option(name: .customLong("for"), help: ArgumentHelp("Stop after this long (90s, 10m, 2h); required with --simulate.", valueName: "duration"))
    var duration: CommandTimeout?

    @Option(help: "Where the metrics endpoint listens (IPv4).")
    var metricsAddress = "127.0.0.1"

    @Option(help: "The metrics endpoint's port; 0 picks a free one (printed on stderr).")
    var metricsPort: UInt16 = 9464

    @Flag(help: "Write a systemd service unit that runs this watch, instead of watching.")
    var install = false

    @Option(name: .customLong("unit-dir"), help: "Where --install writes the unit.")
    var unitDirectory = "/etc/systemd/system"

    func validate() throws {
        if install && cluster.simulate {
            throw ValidationError("--install writes a unit for the real cluster; drop --simulate")
        }
        if cluster.simulate && duration == nil {
            throw ValidationError("--simulate needs --for: simulated time runs as fast as the machine allows, so a watch must say how long")
        }
    }

    func run() throws {
        try reportingErrors {
            if install {
                try writeUnit(spec: try Session(cluster).spec)
                return
            }
            let faults = try runOptions.parsedFaults(simulate: cluster.simulate)
            var options = cluster
            // A watch runs until stopped or for --for; the command's own bound is past either.
            options.timeout = options.timeout ?? CommandTimeout(duration: (duration?.duration ?? .seconds(100 * 365 * 86_400)) + .seconds(3600), text: "the watch")
            let session = try Session(options)
            let spec = session.spec
            let metrics = WatcherMetrics()
            let server = try MetricsServer(address: metricsAddress, port: metricsPort) { metrics.prometheusText(cluster: spec.name) }
            server.start()
            Terminal.error("metrics on http://\(metricsAddress):\(server.port)/metrics")
            let printer = PlaybookPrinter(output: output.output)
            let lock = FileClusterLock(directory: session.stateDirectory)
            let watchFor = duration?.duration
            let watcherOptions = runOptions.watcherOptions()
            let report = try session.run(faults: faults, speed: runOptions.speed) { backend in
                try await FailoverWatcher(spec: spec, backend: backend, options: watcherOptions, lock: lock, metrics: metrics, events: printer.handle).run(for: watchFor)
            }
            for detection in report.detections {
                Terminal.out("\(spec.name): \(detection.node) lost, detected at \(detection.detected.formattedSeconds) (\((detection.detected - detection.firstMiss).formattedSeconds) after the first silent probe)")
            }
            for playbook in report.playbooks { try printer.print(playbook, simulated: cluster.simulate) }
            for run in report.cancelled {
                let playbook = "\(run.playbook.rawValue)\(run.node.map { " \($0)" } ?? "")"
                Terminal.out(
                    "\(spec.name): \(playbook) stopped\(run.cancelledAt.map { " at \($0.rawValue)" } ?? "") after \((run.ended - run.started).formattedSeconds): the watch ended first; run `clusterctl failover \(spec.name) \(playbook)` to finish the job")
            }
            for command in report.notStarted {
                Terminal.out("\(spec.name): \(command) not started: it waited for the running replacement when the watch ended; run `clusterctl failover \(spec.name) \(command)`")
            }
            for command in report.wouldRun { Terminal.out("\(spec.name): would run `clusterctl failover \(spec.name) \(command)` (replacement is manual)") }
            if report.detections.isEmpty { Terminal.out("\(spec.name): no node lost while watching") }
            if report.playbooks.contains(where: { !$0.succeeded }) || !report.cancelled.isEmpty || !report.notStarted.isEmpty { throw ExitCode(ExitStatus.failed) }
            try session.verdict.finish()
        }
    }

    /// Writes the unit (0644: systemd units are world-readable and carry no secret).
    private func writeUnit(spec: ClusterSpec) throws {
        let workingDirectory = FileManager.default.currentDirectoryPath
        func absolute(_ path: String) -> String {
            path.hasPrefix("/") ? path : URL(fileURLWithPath: workingDirectory).appendingPathComponent(path).standardizedFileURL.path
        }
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? absolute(CommandLine.arguments[0])
        let unit = WatcherServiceUnit(
            cluster: spec.name, executable: executable, specPath: absolute(cluster.specPath), workingDirectory: workingDirectory,
            home: ProcessInfo.processInfo.environment["CLUSTERCTL_HOME"].map(absolute), metricsAddress: metricsAddress, metricsPort: metricsPort)
        let directory = URL(fileURLWithPath: unitDirectory)
        if !SecureFile.exists(directory) { try SecureFile.ensureDirectory(directory) }
        let url = directory.appendingPathComponent(unit.fileName)
        try SecureFile.write(unit.text, to: url, mode: 0o644)
        Terminal.out("wrote \(url.path)")
        Terminal.error("put the provider tokens in \(unit.environmentFile) (mode 0600), then: systemctl daemon-reload && systemctl enable --now \(unit.fileName)")
    }
}
