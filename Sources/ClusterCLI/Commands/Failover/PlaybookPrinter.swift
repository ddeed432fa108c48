import ClusterKit
import Foundation

/// Prints a playbook's events as they come (timestamped lines on stderr, or JSON lines on stdout
/// with `-o json`), its plan for `--dry-run`, and its report.
final class PlaybookPrinter: Sendable {
    let output: OutputFormat

    init(output: OutputFormat) { self.output = output }

    func handle(_ event: PlaybookEvent) {
        switch output {
        case .json:
            if let line = try? Terminal.json(PlaybookEventLine(event), pretty: false) { Terminal.out(line) }
        case .table, .yaml:
            let time = event.elapsed.formattedSeconds
            let step = (event.action?.rawValue ?? "playbook").padding(toLength: 22, withPad: " ", startingAt: 0)
            Terminal.error("[\(String(repeating: " ", count: max(0, 7 - time.count)))\(time)] \(event.kind.mark) \(step) \(event.message)")
        }
    }

    func print(_ report: PlaybookReport, simulated: Bool) throws {
        let document = PlaybookReportDocument(report)
        switch output {
        case .json: Terminal.out(try Terminal.json(document, pretty: false))
        case .yaml: Terminal.out(try Terminal.document(document, format: .yaml))
        case .table:
            var rows = [["STEP", "NODE", "OUTCOME", "TOOK", "DETAIL"]]
            for record in report.steps {
                rows.append([record.step.action.rawValue, record.step.node ?? "-", record.outcome.rawValue, record.duration.formattedSeconds, record.message])
            }
            if report.steps.isEmpty == false { Terminal.out(Self.table(rows)) }
            var summary = "\(report.cluster): \(report.playbook.rawValue)\(report.node.map { " \($0)" } ?? "") \(report.outcome.rawValue)"
            if let reason = report.reason { summary += ": \(reason)" }
            var figures: [String] = []
            if let after = report.confirmedLostAfter { figures.append("confirmed lost after \(after.formattedSeconds)") }
            if let after = report.recoveredAfter { figures.append("healthy after \(after.formattedSeconds)") }
            if let after = report.ingressReachableAfter { figures.append("IP answering \(after.formattedSeconds) after assignment") }
            figures.append("\(report.elapsed.formattedSeconds) in all" + (simulated ? " (simulated)" : ""))
            Terminal.out(summary + " — " + figures.joined(separator: ", "))
        }
    }

    static func printPlan(_ planned: Result<[PlaybookStep], ClusterError>, playbook: PlaybookKind, node: String?, cluster: String, output: OutputFormat) throws {
        let document = PlaybookPlanDocument(playbook: playbook, node: node, cluster: cluster, planned: planned)
        switch output {
        case .json: Terminal.out(try Terminal.json(document, pretty: false))
        case .yaml: Terminal.out(try Terminal.document(document, format: .yaml))
        case .table:
            switch planned {
            case .success(let steps) where steps.isEmpty:
                Terminal.out("\(cluster): \(playbook.rawValue)\(node.map { " \($0)" } ?? ""): nothing to do")
            case .success(let steps):
                Terminal.out("\(cluster): \(playbook.rawValue)\(node.map { " \($0)" } ?? "") would take \(steps.count) steps (dry run, nothing changed):")
                for (index, step) in steps.enumerated() {
                    Terminal.out("  \(index + 1). \(step.action.rawValue.padding(toLength: 22, withPad: " ", startingAt: 0)) \(step.detail)")
                }
            case .failure(let error):
                Terminal.out("\(cluster): \(playbook.rawValue)\(node.map { " \($0)" } ?? "") would be refused: \(error.message)")
                if let hint = error.hint { Terminal.error("  hint: \(hint)") }
            }
        }
    }

    static func table(_ rows: [[String]]) -> String {
        let widths = (0..<(rows.first?.count ?? 0)).map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { index, cell in index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0) }
                .joined(separator: "  ")
        }.joined(separator: "\n")
    }
}

private func seconds(_ duration: Duration?) -> Double? {
    duration.map { ($0.inSeconds * 10).rounded() / 10 }
}

struct PlaybookEventLine: Encodable {
    var type = "event"
    var elapsed_seconds: Double
    var step: String?
    var node: String?
    var kind: String
    var message: String

    init(_ event: PlaybookEvent) {
        elapsed_seconds = seconds(event.elapsed) ?? 0
        step = event.action?.rawValue
        node = event.node
        kind = event.kind.rawValue
        message = event.message
    }
}

struct PlaybookReportDocument: Encodable {
    struct Step: Encodable {
        var action: String
        var node: String?
        var outcome: String
        var started_seconds: Double
        var ended_seconds: Double
        var message: String
    }

    var type = "report"
    var cluster: String
    var playbook: String
    var node: String?
    var outcome: String
    var succeeded: Bool
    var reason: String?
    var steps: [Step]
    var confirmed_lost_after_seconds: Double?
    var recovered_after_seconds: Double?
    var ingress_reachable_after_seconds: Double?
    var ingress_holder: String?
    var elapsed_seconds: Double

    init(_ report: PlaybookReport) {
        cluster = report.cluster
        playbook = report.playbook.rawValue
        node = report.node
        outcome = report.outcome.rawValue
        succeeded = report.succeeded
        reason = report.reason
        steps = report.steps.map {
            Step(action: $0.step.action.rawValue, node: $0.step.node, outcome: $0.outcome.rawValue, started_seconds: seconds($0.started) ?? 0,
                 ended_seconds: seconds($0.ended) ?? 0, message: $0.message)
        }
        confirmed_lost_after_seconds = seconds(report.confirmedLostAfter)
        recovered_after_seconds = seconds(report.recoveredAfter)
        ingress_reachable_after_seconds = seconds(report.ingressReachableAfter)
        ingress_holder = report.ingressHolder
        elapsed_seconds = seconds(report.elapsed) ?? 0
    }
}

struct PlaybookPlanDocument: Encodable {
    struct Step: Encodable {
        var action: String
        var node: String?
        var detail: String
    }

    var type = "plan"
    var cluster: String
    var playbook: String
    var node: String?
    var refused: Bool
    var reason: String?
    var steps: [Step]

    init(playbook: PlaybookKind, node: String?, cluster: String, planned: Result<[PlaybookStep], ClusterError>) {
        self.cluster = cluster
        self.playbook = playbook.rawValue
        self.node = node
        switch planned {
        case .success(let steps):
            refused = false
            self.steps = steps.map { Step(action: $0.action.rawValue, node: $0.node, detail: $0.detail) }
        case .failure(let error):
            refused = error.code == .refused
            reason = error.message
            steps = []
        }
    }
}

extension PlaybookEvent.Kind {
    /// The one-character mark progress lines start with.
    var mark: String {
        switch self {
        case .succeeded: "✔"
        case .failed: "✘"
        case .retrying: "↻"
        case .skipped: "="
        case .started, .progress: "…"
        }
    }
}
