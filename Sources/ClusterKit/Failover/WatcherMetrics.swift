import Foundation
import Synchronization

/// What the watcher exposes to Prometheus: nodes seen and lost, the last detection, the last
/// playbook's outcome, the replacement running in the background and those waiting for it.
/// Rendered in the text exposition format without client-side timestamps
/// (node_exporter's textfile collector rejects them; FAILOVER-FACTS.md section 6), with names in
/// base units and `_timestamp_seconds` for points in time (prometheus/docs `practices/naming.md`).
public final class WatcherMetrics: Sendable {
    struct Values: Sendable {
        var nodesSeen = 0
        var nodesLost = 0
        var detections = 0
        var lastDetection: Double?
        var lastDetectionLatency: Double?
        var playbooks = 0
        var lastPlaybook: Double?
        var lastPlaybookSucceeded: Bool?
        var playbooksCancelled = 0
        var replacementRunning = false
        var replacementsQueued = 0
    }

    private let values = Mutex(Values())
    /// Seconds since the Unix epoch, for `_timestamp_seconds` samples.
    private let wallClock: @Sendable () -> Double

    /// - Parameter wallClock: seconds since the Unix epoch; the system clock when nil.
    public init(wallClock: (@Sendable () -> Double)? = nil) {
        self.wallClock = wallClock ?? { Date().timeIntervalSince1970 }
    }

    func nodes(seen: Int, lost: Int) {
        values.withLock {
            $0.nodesSeen = seen
            $0.nodesLost = lost
        }
    }

    func detected(after latency: Duration) {
        let now = wallClock()
        values.withLock {
            $0.detections += 1
            $0.lastDetection = now
            $0.lastDetectionLatency = latency.inSeconds
        }
    }

    func playbookFinished(succeeded: Bool) {
        let now = wallClock()
        values.withLock {
            $0.playbooks += 1
            $0.lastPlaybook = now
            $0.lastPlaybookSucceeded = succeeded
        }
    }

    /// A replacement the end of the watch cancelled: it neither succeeded nor failed.
    func playbookCancelled() {
        values.withLock { $0.playbooksCancelled += 1 }
    }

    func replacements(running: Bool, queued: Int) {
        values.withLock {
            $0.replacementRunning = running
            $0.replacementsQueued = queued
        }
    }

    /// The metrics in Prometheus' text format, every known series present (0 before the first event).
    public func prometheusText(cluster: String) -> String {
        let v = values.withLock { $0 }
        let label = "{cluster=\"\(cluster.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\""))\"}"
        func sample(_ name: String, _ type: String, _ help: String, _ value: Double) -> String {
            "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n\(name)\(label) \(value == value.rounded() ? String(Int64(value)) : String(value))\n"
        }
        return sample("clusterctl_watch_nodes_seen", "gauge", "Nodes the watcher has seen alive.", Double(v.nodesSeen))
            + sample("clusterctl_watch_nodes_lost", "gauge", "Nodes detected lost and not yet replaced.", Double(v.nodesLost))
            + sample("clusterctl_watch_detections_total", "counter", "Lost nodes detected since the watcher started.", Double(v.detections))
            + sample("clusterctl_watch_last_detection_timestamp_seconds", "gauge", "When the last lost node was detected.", v.lastDetection ?? 0)
            + sample("clusterctl_watch_last_detection_seconds", "gauge", "From the first failed probe to the detection of the last lost node.", v.lastDetectionLatency ?? 0)
            + sample("clusterctl_watch_playbooks_total", "counter", "Playbooks the watcher ran since it started.", Double(v.playbooks))
            + sample("clusterctl_watch_last_playbook_timestamp_seconds", "gauge", "When the last playbook ended.", v.lastPlaybook ?? 0)
            + sample("clusterctl_watch_last_playbook_success", "gauge", "1 when the last playbook completed or had nothing to do, else 0.", v.lastPlaybookSucceeded == true ? 1 : 0)
            + sample("clusterctl_watch_playbooks_cancelled_total", "counter", "Replacements stopped unfinished because the watch ended.", Double(v.playbooksCancelled))
            + sample("clusterctl_watch_replacement_running", "gauge", "1 while a replacement playbook runs in the background, else 0.", v.replacementRunning ? 1 : 0)
            + sample("clusterctl_watch_replacements_queued", "gauge", "Lost nodes whose replacement waits for the running one to end.", Double(v.replacementsQueued))
    }
}
