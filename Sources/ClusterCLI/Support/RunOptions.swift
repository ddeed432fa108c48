public import ArgumentParser
import ClusterKit
import Provisioners

/// Options of commands that change a cluster.
struct RunOptions: ParsableArguments {
    @Option(name: .customLong("inject"), help: ArgumentHelp(
        "Simulator only: inject a fault, KIND:OPERATION[:TARGET][*COUNT] (repeatable).",
        discussion: "Kinds: \(SimulatedFault.Kind.allCases.map(\.rawValue).joined(separator: ", ")). Operations: \(SimulatedFault.Operation.allCases.map(\.rawValue).joined(separator: ", ")). Example: --inject ratelimit:create:hcloud*3 --inject crash:create:home-cp-2",
        valueName: "fault"))
    var faults: [String] = []

    @Option(name: .customLong("sim-speed"), help: "Simulator only: virtual seconds per real second (0 = as fast as possible; default 60 on a terminal, 0 otherwise).")
    var simulationSpeed: Double?

    @Option(name: .customLong("node-timeout"), help: ArgumentHelp(
        "How long one node may take from created to Ready (90s, 10m; default 30m); it then fails naming its last state.", valueName: "duration"))
    var nodeTimeout: CommandTimeout?

    @Option(name: .customLong("poll-interval"), help: ArgumentHelp(
        "How often Talos and Kubernetes status is polled (default 5s); short intervals are for loopback test worlds.",
        valueName: "duration", visibility: .hidden))
    var pollInterval: CommandTimeout?

    @Option(help: ArgumentHelp("How many times a step that failed transiently is tried (default 8), with backoff between tries.", valueName: "count"))
    var retries: Int?

    /// The executor's options for a run that stops after `until`.
    func executorOptions(until: Stage?) -> ClusterExecutor.Options {
        var options = ClusterExecutor.Options(until: until)
        if let nodeTimeout { options.nodeTimeout = nodeTimeout.duration }
        if let pollInterval { options.pollInterval = pollInterval.duration }
        if let retries { options.retry.maxAttempts = max(1, retries) }
        return options
    }

    /// Node operations (`node add`, `node remove`) with the same retry and polling as ``executorOptions(until:)``.
    func nodeOperations(spec: ClusterSpec, backend: ClusterBackend, events: @escaping ExecutionEventSink) -> NodeOperations {
        let options = executorOptions(until: .bootstrap)
        return NodeOperations(spec: spec, backend: backend, retry: options.retry, pollInterval: options.pollInterval, events: events)
    }

    /// Playbook options with the same retries and polling as ``executorOptions(until:)``. The
    /// lost-node confirmation probes follow `--poll-interval` too (they are Talos polls), and a
    /// replacement gets `--node-timeout` to come up.
    func playbookOptions() -> FailoverPlaybook.Options {
        var options = FailoverPlaybook.Options()
        if let pollInterval {
            options.pollInterval = pollInterval.duration
            options.probeInterval = pollInterval.duration
        }
        if let retries { options.retry.maxAttempts = max(1, retries) }
        if let nodeTimeout { options.recoveryTimeout = nodeTimeout.duration }
        return options
    }

    /// Watcher options: with `--poll-interval`, the Talos probes run at that interval and the
    /// machine list at twice it (the default ratio, 5 s and 10 s); playbooks as ``playbookOptions()``.
    func watcherOptions() -> FailoverWatcher.Options {
        var options = FailoverWatcher.Options(playbook: playbookOptions())
        if let pollInterval {
            options.probeInterval = pollInterval.duration
            options.listInterval = pollInterval.duration * 2
        }
        return options
    }

    /// How often a drill probes the cluster and its repair looks for the fault (`--poll-interval`;
    /// default 10 s, the kubelet's lease renewal, FAILOVER-FACTS.md section 3).
    var drillPollInterval: Duration { pollInterval?.duration ?? .seconds(10) }

    func parsedFaults(simulate: Bool) throws -> [SimulatedFault] {
        if !faults.isEmpty && !simulate {
            throw ClusterError(.invalidSpec, "--inject works only with --simulate", hint: "add --simulate")
        }
        return try faults.map { try SimulatedFault(parsing: $0) }
    }

    var speed: Double? {
        let speed = simulationSpeed ?? (Terminal.stderrIsTTY ? 60 : 0)
        return speed > 0 ? speed : nil
    }
}

extension Stage: ExpressibleByArgument {}
