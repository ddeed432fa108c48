import ArgumentParser
import ClusterKit
import Foundation

struct DrillHistoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "List past drills and the trend of recovery time (RTO) per scenario.",
        discussion: """
            Reads the cluster's drill history (the newest \(DrillHistory.defaultLimit) runs are kept). \
            The trend compares each scenario's last RTO with the median of its earlier passed runs.

            Examples:
              clusterctl drill history home --simulate
              clusterctl drill history home -o json | jq '.trends'
            """)

    @OptionGroup var cluster: ClusterOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        try reportingErrors {
            let session = try Session(cluster)
            let history = DrillHistory(clusterDirectory: session.stateDirectory)
            let document = DrillHistoryDocument(cluster: session.spec.name, reports: try history.load(), directory: history.directory.path)
            switch output.output {
            case .json, .yaml: Terminal.out(try DrillCLI.document(document, format: output.output))
            case .table: Terminal.out(document.text)
            }
        }
    }
}

/// What `drill history` prints: one row per run, one trend per scenario.
struct DrillHistoryDocument: Encodable {
    struct Run: Encodable {
        var id: String
        var scenario: String
        var startedAt: Date
        var outcome: String
        var target: String?
        var detectionSeconds: Double?
        var rtoSeconds: Double?
        var abortReason: String?

        enum CodingKeys: String, CodingKey {
            case id, scenario, outcome, target
            case startedAt = "started_at"
            case detectionSeconds = "detection_seconds"
            case rtoSeconds = "rto_seconds"
            case abortReason = "abort_reason"
        }
    }

    struct Trend: Encodable {
        var scenario: String
        /// RTO of every passed run, oldest first.
        var rtoSeconds: [Double]
        var last: Double?
        var medianBefore: Double?
        /// last / medianBefore - 1, e.g. 0.12 = 12 % slower than usual.
        var change: Double?

        enum CodingKeys: String, CodingKey {
            case scenario, last, change
            case rtoSeconds = "rto_seconds"
            case medianBefore = "median_before"
        }
    }

    var cluster: String
    var directory: String
    var runs: [Run]
    var trends: [Trend]

    init(cluster: String, reports: [DrillReport], directory: String) {
        self.cluster = cluster
        self.directory = directory
        runs = reports.map {
            Run(id: $0.id, scenario: $0.scenario, startedAt: $0.startedAt, outcome: $0.outcome.rawValue, target: $0.target,
                detectionSeconds: $0.detectionSeconds, rtoSeconds: $0.rtoSeconds, abortReason: $0.abortReason)
        }
        var order: [String] = []
        for report in reports where !order.contains(report.scenario) { order.append(report.scenario) }
        trends = order.map { scenario in
            let rtos = reports.filter { $0.scenario == scenario && $0.outcome == .passed }.compactMap(\.rtoSeconds)
            let earlier = rtos.dropLast().sorted()
            let median: Double? = earlier.isEmpty ? nil
                : earlier.count % 2 == 1 ? earlier[earlier.count / 2] : (earlier[earlier.count / 2 - 1] + earlier[earlier.count / 2]) / 2
            var change: Double?
            if let last = rtos.last, let median, median > 0 { change = last / median - 1 }
            return Trend(scenario: scenario, rtoSeconds: rtos, last: rtos.last, medianBefore: median, change: change)
        }
    }

    var text: String {
        guard !runs.isEmpty else { return "No drills of cluster \(cluster) yet (history: \(directory))." }
        let formatter = ISO8601DateFormatter()
        let seconds = { (value: Double?) in value.map { "\(Int($0.rounded()))s" } ?? "-" }
        var rows = [["STARTED", "SCENARIO", "OUTCOME", "TARGET", "DETECTION", "RTO", "REASON"]]
        rows += runs.map { [formatter.string(from: $0.startedAt), $0.scenario, $0.outcome, $0.target ?? "-", seconds($0.detectionSeconds), seconds($0.rtoSeconds), $0.abortReason ?? ""] }
        var lines = TextTable.lines(rows)
        lines.append("")
        lines.append("RTO trend per scenario (passed runs, oldest first):")
        for trend in trends {
            var line = "  \(trend.scenario): \(trend.rtoSeconds.isEmpty ? "no passed run" : trend.rtoSeconds.map { seconds($0) }.joined(separator: " → "))"
            if let change = trend.change, let median = trend.medianBefore {
                let percent = Int((change * 100).rounded())
                line += " (last \(seconds(trend.last)) vs median \(seconds(median)) before: \(percent >= 0 ? "+" : "")\(percent)%)"
            }
            lines.append(line)
        }
        return lines.joined(separator: "\n")
    }
}
