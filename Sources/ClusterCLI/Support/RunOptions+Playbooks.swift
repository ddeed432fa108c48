import ClusterKit

extension RunOptions {
    /// The failover playbooks' options for a drill's repair: `--poll-interval` paces their polls
    /// and the Talos probes that confirm a node is gone (their defaults span a kubelet lease
    /// renewal; a short interval is for loopback test worlds), `--retries` their retries.
    func playbookOptions() -> FailoverPlaybook.Options {
        var options = FailoverPlaybook.Options()
        if let pollInterval {
            options.pollInterval = pollInterval.duration
            options.probeInterval = pollInterval.duration
        }
        if let retries { options.retry.maxAttempts = max(1, retries) }
        return options
    }

    /// How often a drill probes the cluster and its repair looks for the fault (`--poll-interval`;
    /// default 10 s, the kubelet's lease renewal, FAILOVER-FACTS.md section 3).
    var drillPollInterval: Duration { pollInterval?.duration ?? .seconds(10) }
}
