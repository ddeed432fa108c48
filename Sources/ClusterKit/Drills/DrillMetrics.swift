public import Foundation

/// The drill results as a Prometheus textfile-collector file (node_exporter
/// `--collector.textfile.directory`): gauges per scenario, no sample timestamps (the collector
/// skips a whole file that has them; node_exporter `collector/textfile.go`), `# HELP` and
/// `# TYPE` before each metric's samples, and every scenario of the spec present even before
/// its first run, so no series is missing (prometheus/docs `practices/instrumentation.md`).
public struct DrillMetrics: Sendable {
    public var cluster: String
    public var scenarios: [String]
    /// The newest report of each scenario.
    public var latest: [String: DrillReport]
    /// The newest passed report of each scenario.
    public var lastSuccess: [String: DrillReport]

    public init(cluster: String, scenarios: [String], reports: [DrillReport]) {
        self.cluster = cluster
        var names = scenarios
        for report in reports where !names.contains(report.scenario) { names.append(report.scenario) }
        self.scenarios = names
        var latest: [String: DrillReport] = [:]
        var success: [String: DrillReport] = [:]
        for report in reports.sorted(by: { $0.startedAt < $1.startedAt }) {
            latest[report.scenario] = report
            if report.outcome == .passed { success[report.scenario] = report }
        }
        self.latest = latest
        lastSuccess = success
    }

    /// The file name in the collector's directory; it must end in `.prom`.
    public var fileName: String { "clusterctl_drill_\(cluster).prom" }

    public var text: String {
        var lines: [String] = []
        func metric(_ name: String, _ help: String, _ value: (String) -> [(labels: String, value: Double)]) {
            lines.append("# HELP \(name) \(help)")
            lines.append("# TYPE \(name) gauge")
            for scenario in scenarios {
                for sample in value(scenario) {
                    lines.append("\(name){cluster=\"\(Self.label(cluster))\",scenario=\"\(Self.label(scenario))\"\(sample.labels)} \(Self.number(sample.value))")
                }
            }
        }
        metric("clusterctl_drill_last_run_timestamp_seconds", "Unix time the last drill of the scenario ended (0: never ran).") {
            [("", latest[$0]?.endedAt.timeIntervalSince1970 ?? 0)]
        }
        metric("clusterctl_drill_last_success_timestamp_seconds", "Unix time the last passed drill of the scenario ended (0: none passed).") {
            [("", lastSuccess[$0]?.endedAt.timeIntervalSince1970 ?? 0)]
        }
        metric("clusterctl_drill_success", "1 when the last drill of the scenario passed, else 0.") {
            [("", latest[$0]?.outcome == .passed ? 1 : 0)]
        }
        metric("clusterctl_drill_outcome", "Outcome of the last drill of the scenario: 1 on its outcome, 0 on the others.") { scenario in
            DrillReport.Outcome.allCases.map { outcome -> (labels: String, value: Double) in
                (labels: ",outcome=\"\(outcome.rawValue)\"", value: latest[scenario]?.outcome == outcome ? 1 : 0)
            }
        }
        metric("clusterctl_drill_rto_seconds", "Recovery time of the last drill of the scenario, fault to steady state (NaN: not measured).") {
            [("", latest[$0]?.rtoSeconds ?? .nan)]
        }
        metric("clusterctl_drill_detection_seconds", "Detection time of the last drill of the scenario, fault to its detection by the repair (NaN: not measured).") {
            [("", latest[$0]?.detectionSeconds ?? .nan)]
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Writes ``text`` to `directory/<fileName>` atomically: a temporary file in the same
    /// directory (its name starts with a dot and does not end in `.prom`, so the collector never
    /// reads it half-written), then a rename (node_exporter README, "Textfile Collector").
    @discardableResult
    public func write(to directory: URL) throws(ClusterError) -> URL {
        let file = directory.appendingPathComponent(fileName)
        try SecureFile.write(text, to: file, mode: 0o644)
        return file
    }

    /// Label values escape `\`, `"` and newlines (exposition format).
    static func label(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
    }

    static func number(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }
}
