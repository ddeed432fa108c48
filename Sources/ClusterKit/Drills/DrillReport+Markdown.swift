import Foundation

extension DrillReport {
    /// The report for a person: verdict first, then the timings, the steps and every probe.
    public var markdown: String {
        let iso = ISO8601DateFormatter()
        var lines = [
            "# Drill \(scenario) on \(cluster): \(outcome.rawValue.uppercased())",
            "",
            "- Started: \(iso.string(from: startedAt))\(simulated ? " (simulator: the times below are on its virtual clock)" : "")",
            "- Ended: \(iso.string(from: endedAt))",
            "- Target: \(target ?? "-")",
            "- Detection time: \(detectionSeconds.map(Self.seconds) ?? "-")",
            "- Recovery time (RTO): \(rtoSeconds.map(Self.seconds) ?? "-")",
        ]
        if let abortReason { lines.append("- Abort reason: \(abortReason)") }
        lines += ["", "## Steps", "", "| Step | Start | Duration | Result | Detail |", "| --- | --- | --- | --- | --- |"]
        lines += steps.map { "| \($0.name) | +\(Self.seconds($0.started)) | \(Self.seconds($0.duration)) | \($0.passed ? "ok" : "FAILED") | \(Self.cell($0.detail)) |" }
        for phase in Phase.allCases {
            let round = probes.filter { $0.phase == phase }
            let passed = round.filter(\.passed).count
            lines += ["", "## Probes \(phase.rawValue) the fault (\(passed)/\(round.count) passed)", ""]
            if round.isEmpty {
                lines.append("None ran.")
                continue
            }
            var names: [String] = []
            for probe in round where !names.contains(probe.name) { names.append(probe.name) }
            if round.count == names.count {
                lines += ["| Probe | At | Result | Detail |", "| --- | --- | --- | --- |"]
                lines += round.map { "| \($0.name) | +\(Self.seconds($0.at)) | \($0.passed ? "ok" : "FAILED") | \(Self.cell($0.detail)) |" }
                continue
            }
            // Many rounds: one line per probe (pass ratio, first failure, last result), as
            // LitmusChaos reports a probe's success percentage; every round is in the JSON.
            lines += ["| Probe | Passed | First failure | Last result |", "| --- | --- | --- | --- |"]
            for name in names {
                let runs = round.filter { $0.name == name }
                let firstFailure = runs.first { !$0.passed }.map { "+\(Self.seconds($0.at)): \(Self.cell($0.detail))" } ?? "-"
                let last = runs.last.map { "+\(Self.seconds($0.at)) \($0.passed ? "ok" : "FAILED"): \(Self.cell($0.detail))" } ?? "-"
                lines.append("| \(name) | \(runs.filter(\.passed).count)/\(runs.count) | \(firstFailure) | \(last) |")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A table cell: pipes and newlines would break the Markdown table.
    private static func cell(_ text: String) -> String {
        text.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
    }
}
