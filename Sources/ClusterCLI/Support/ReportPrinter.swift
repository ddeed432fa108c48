import ClusterKit

/// Prints what `up`, `node add` and `node remove` did.
enum ReportPrinter {
    /// - Parameter requestedStop: the stage the user asked to stop after (`--until`), if any.
    /// - Parameter problems: what made the run less than a success besides its nodes (a provider
    ///   that could not be read, a duplicated name); the document's `succeeded` accounts for them.
    static func print(_ report: ExecutionReport, output: OutputFormat, simulated: Bool, requestedStop: Stage? = nil, problems: [String] = []) throws {
        switch output {
        case .json, .yaml:
            Terminal.out(try Terminal.document(ReportDocument(report, problems: problems), format: output, compact: true))
        case .table:
            let ready = report.nodes.filter { $0.state == .ready }.count
            let time = report.elapsed.formattedSeconds + (simulated ? " (simulated)" : "")
            for outcome in report.nodes where outcome.state == .failed {
                Terminal.error("✘ \(outcome.node): \(outcome.message ?? "failed")")
            }
            for (subject, message) in report.failures.sorted(by: { $0.key < $1.key }) {
                Terminal.error("✘ \(subject): \(message)")
            }
            var summary = "\(report.cluster): "
            if let stage = requestedStop, stage != .health {
                summary += "stopped after \(stage.rawValue) as asked; \(report.nodes.filter { $0.state != .failed }.count) of \(report.nodes.count) nodes on track"
            } else {
                summary += "\(ready) of \(report.nodes.filter { $0.state != .deleted }.count) nodes Ready"
            }
            if let node = report.bootstrappedOn { summary += ", etcd bootstrapped on \(node)" }
            if report.gitopsInstalled { summary += ", Flux installed" }
            let deleted = report.nodes.filter { $0.state == .deleted }.count
            if deleted > 0 { summary += ", \(deleted) removed" }
            summary += report.succeeded && problems.isEmpty ? (report.healthy ? ", healthy" : "") : ", with failures"
            Terminal.out(summary + " — \(time)")
        }
    }
}

struct ReportDocument: Encodable {
    var type = "report"
    var cluster: String
    var succeeded: Bool
    var healthy: Bool
    var elapsedSeconds: Double
    var stoppedAfter: String?
    var bootstrappedOn: String?
    var gitopsInstalled: Bool
    var nodes: [NodeOutcome]
    var failures: [String: String]
    var problems: [String]

    init(_ report: ExecutionReport, problems: [String] = []) {
        cluster = report.cluster
        succeeded = report.succeeded && problems.isEmpty
        self.problems = problems
        healthy = report.healthy
        elapsedSeconds = Double(report.elapsed.components.seconds)
        stoppedAfter = report.stoppedAfter?.rawValue
        bootstrappedOn = report.bootstrappedOn
        gitopsInstalled = report.gitopsInstalled
        nodes = report.nodes
        failures = report.failures
    }

    enum CodingKeys: String, CodingKey {
        case type, cluster, succeeded, healthy, nodes, failures, problems
        case elapsedSeconds = "elapsed_seconds"
        case stoppedAfter = "stopped_after"
        case bootstrappedOn = "bootstrapped_on"
        case gitopsInstalled = "gitops_installed"
    }
}
