import ClusterKit
import ClusterTestSupport
import Foundation
import Testing

@Suite struct DrillHistoryTests {
    static func report(_ scenario: String, startedAt seconds: Double, outcome: DrillReport.Outcome = .passed, rto: Double? = 95) -> DrillReport {
        let start = Date(timeIntervalSince1970: seconds)
        return DrillReport(
            cluster: "home", scenario: scenario, simulated: true, target: "home-big-1", startedAt: start, endedAt: start.addingTimeInterval(200),
            probes: [
                .init(name: "api", phase: .before, at: 0, passed: true, detail: "API answers"),
                .init(name: "nodes-ready", phase: .during, at: 60, passed: false, detail: "home-big-1 | NotReady"),
                .init(name: "nodes-ready", phase: .after, at: 190, passed: outcome == .passed, detail: "7/7 Ready"),
            ],
            steps: [.init(name: "inject", started: 1, duration: 0.5, passed: true, detail: "powered off home-big-1")],
            detectionSeconds: rto.map { _ in 42 }, rtoSeconds: rto, outcome: outcome, abortReason: outcome == .aborted ? "maxDuration 45m exceeded" : nil)
    }

    func scratch() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("drill-history-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    @Test func recordsJSONAndMarkdownAndKeepsTheNewest() throws {
        let directory = try scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        let history = DrillHistory(directory: directory, limit: 3)
        for index in 0..<5 { try history.record(Self.report(index % 2 == 0 ? "lose-worker" : "lose-controlplane", startedAt: 1_800_000_000 + Double(index) * 86400)) }
        let reports = try history.load()
        #expect(reports.count == 3)
        #expect(reports.map(\.startedAt.timeIntervalSince1970) == [1_800_172_800, 1_800_259_200, 1_800_345_600])
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        #expect(names.count == 6)
        #expect(names.first == "20270117T080000Z-lose-worker.json")
        let markdown = try String(contentsOf: directory.appendingPathComponent("20270119T080000Z-lose-worker.md"), encoding: .utf8)
        #expect(markdown.hasPrefix("# Drill lose-worker on home: PASSED"))
        #expect(markdown.contains("- Recovery time (RTO): 95s"))
        #expect(markdown.contains("| nodes-ready | +60s | FAILED | home-big-1 \\| NotReady |"))
        #expect(markdown.contains("## Probes during the fault (0/1 passed)"))
        // The JSON round-trips.
        #expect(reports.last == Self.report("lose-worker", startedAt: 1_800_345_600))
    }

    @Test func manyRoundsOfAProbeAreSummedUpInTheMarkdown() {
        var report = Self.report("lose-worker", startedAt: 1_800_000_000)
        report.probes = [10.0, 20, 30].map { .init(name: "nodes-ready", phase: .during, at: $0, passed: $0 == 30, detail: $0 == 30 ? "7/7 Ready" : "not Ready: home-big-1") }
        let markdown = report.markdown
        #expect(markdown.contains("| Probe | Passed | First failure | Last result |"))
        #expect(markdown.contains("| nodes-ready | 1/3 | +10s: not Ready: home-big-1 | +30s ok: 7/7 Ready |"))
        #expect(markdown.contains("## Probes before the fault (0/0 passed)\n\nNone ran."))
    }

    @Test func twoRunsInOneSecondKeepBothReports() throws {
        let directory = try scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        let history = DrillHistory(directory: directory)
        try history.record(Self.report("lose-worker", startedAt: 1_800_000_000, rto: 90))
        let second = try history.record(Self.report("lose-worker", startedAt: 1_800_000_000, rto: 91))
        #expect(second.lastPathComponent == "20270115T080000Z-lose-worker-2.json")
        #expect(try history.load().compactMap(\.rtoSeconds).sorted() == [90, 91])
    }

    @Test func aBrokenReportIsNamed() throws {
        let directory = try scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        try "{ not json".write(to: directory.appendingPathComponent("20270101T000000Z-lose-worker.json"), atomically: true, encoding: .utf8)
        let error = try #require(throws: ClusterError.self) { try DrillHistory(directory: directory).load() }
        #expect(error.message.contains("20270101T000000Z-lose-worker.json"))
    }

    @Test func metricsFollowTheExpositionFormat() throws {
        let reports = [
            Self.report("lose-worker", startedAt: 1_800_000_000, rto: 90.5),
            Self.report("lose-worker", startedAt: 1_800_086_400, outcome: .aborted, rto: nil),
            Self.report("lose-controlplane", startedAt: 1_800_000_000, rto: 130),
        ]
        let metrics = DrillMetrics(cluster: "home", scenarios: ["lose-controlplane", "lose-worker", "move-ingress-ip"], reports: reports)
        let (samples, problems) = PrometheusTextFormat.parse(metrics.text)
        #expect(problems.isEmpty, "\(problems)")
        func value(_ name: String, _ scenario: String, outcome: String? = nil) -> Double? {
            samples.first { $0.name == name && $0.labels["scenario"] == scenario && $0.labels["outcome"] == outcome && $0.labels["cluster"] == "home" }?.value
        }
        #expect(value("clusterctl_drill_last_run_timestamp_seconds", "lose-worker") == 1_800_086_600)
        #expect(value("clusterctl_drill_last_success_timestamp_seconds", "lose-worker") == 1_800_000_200)
        #expect(value("clusterctl_drill_success", "lose-worker") == 0)
        #expect(value("clusterctl_drill_outcome", "lose-worker", outcome: "aborted") == 1)
        #expect(value("clusterctl_drill_outcome", "lose-worker", outcome: "passed") == 0)
        #expect(value("clusterctl_drill_rto_seconds", "lose-worker")?.isNaN == true)
        #expect(value("clusterctl_drill_rto_seconds", "lose-controlplane") == 130)
        #expect(value("clusterctl_drill_success", "lose-controlplane") == 1)
        // A scenario that never ran is present, so no series is missing.
        #expect(value("clusterctl_drill_last_run_timestamp_seconds", "move-ingress-ip") == 0)

        // Written atomically: only the final .prom is left, readable by node_exporter.
        let directory = try scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = try metrics.write(to: directory)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["clusterctl_drill_home.prom"])
        #expect(try String(contentsOf: file, encoding: .utf8) == metrics.text)
        let mode = try FileManager.default.attributesOfItem(atPath: file.path)[.posixPermissions] as? Int
        #expect(mode == 0o644)
    }

    @Test func theFormatCheckCatchesWhatTheCollectorRefuses() {
        let bad = """
            # HELP a_seconds A.
            # TYPE a_seconds gauge
            a_seconds{x="1"} 3 1700000000000
            b_total 1
            # TYPE a_seconds gauge
            a_seconds{x="\\q"} 1
            c-d 2

            """
        let problems = PrometheusTextFormat.parse(bad).problems
        #expect(problems.contains { $0.contains("has a timestamp") })
        #expect(problems.contains { $0.contains("b_total has no TYPE") })
        #expect(problems.contains { $0.contains("second TYPE") })
        #expect(problems.contains { $0.contains("bad escape") })
        #expect(problems.contains { $0.contains("bad metric name") || $0.contains("needs exactly one value") })
        #expect(PrometheusTextFormat.parse("# HELP x X.\n# TYPE x gauge\nx 1").problems == ["the file does not end with a newline"])
    }
}
