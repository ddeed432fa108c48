import ClusterKit
import ClusterTestSupport
import Foundation
import Testing

/// `clusterctl drill run|stop|history` through the binary on the simulator, after `up`.
@Suite(.serialized) struct CLIDrillRunTests {
    static func upHome(_ cli: CLIHarness) throws {
        let up = try cli.run("up", "home", "--simulate")
        #expect(up.status == 0, "\(up.stderr)")
    }

    var drills: String { "home/simulator/drills" }

    func reports(_ cli: CLIHarness) throws -> [DrillReport] {
        try DrillHistory(directory: cli.home.appendingPathComponent(drills)).load()
    }

    func metrics(_ cli: CLIHarness) throws -> [PrometheusTextFormat.Sample] {
        let text = try String(contentsOf: cli.home.appendingPathComponent("\(drills)/clusterctl_drill_home.prom"), encoding: .utf8)
        let (samples, problems) = PrometheusTextFormat.parse(text)
        #expect(problems.isEmpty, "\(problems)")
        return samples
    }

    /// Waits until the running drill's lease names the node it powered off; returns the lease file.
    func waitForFault(_ node: String, _ cli: CLIHarness) -> URL {
        let lease = cli.home.appendingPathComponent("home/simulator/drill-lease.json")
        var record = ""
        for _ in 0..<200 where !record.contains("\"fault_node\" : \"\(node)\"") {
            Thread.sleep(forTimeInterval: 0.05)
            record = (try? String(contentsOf: lease, encoding: .utf8)) ?? ""
        }
        #expect(record.contains("\"fault_node\" : \"\(node)\""), "\(record)")
        return lease
    }

    @Test func everyScenarioOfHomeIsDrilledReportedAndBeatenHome() throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        try Self.upHome(cli)
        let monitor = try HeartbeatMonitorModel()
        let run = try cli.run(["drill", "run", "home", "--simulate", "-o", "json"], environment: ["DRILL_HEARTBEAT_URL": monitor.healthchecksURL])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(!run.stderr.contains(monitor.token), "the heartbeat URL embeds a token")

        let reports = try reports(cli)
        #expect(reports.map(\.scenario) == ["lose-controlplane", "lose-worker", "move-ingress-ip"])
        #expect(reports.map(\.target) == ["home-cp-home-1", "home-cloud-2", "home-cp-1"])
        for report in reports {
            #expect(report.outcome == .passed, "\(report.scenario): \(report.abortReason ?? "")")
            if report.scenario == "move-ingress-ip" {
                // The IP moves at once (no nodeLostAfter): RTO is until it answers at its new holder.
                #expect((report.rtoSeconds ?? 0) > 0 && (report.rtoSeconds ?? 0) < 120, "\(report.rtoSeconds ?? 0)")
                #expect(report.steps.map(\.name).contains("power-on"), "the old holder is powered back on")
            } else {
                #expect((report.rtoSeconds ?? 0) > 600, "nodeLostAfter is 10m in home.yaml")
            }
            #expect(FileManager.default.fileExists(atPath: cli.home.appendingPathComponent("\(drills)/\(report.id).md").path))
        }
        // stdout carries the same reports as JSON.
        let printed = try DrillReport.decoder().decode([String: [DrillReport]].self, from: Data(run.stdout.utf8))
        #expect(printed["reports"] == reports)

        let beats = monitor.received
        #expect(beats.count == 1)
        #expect(beats.first?.up == true)
        #expect(beats.first?.body.hasPrefix("drill lose-controlplane on home: passed, RTO ") == true, "\(beats.first?.body.prefix(300) ?? "")")
        #expect(beats.first?.body.contains("\ndrill move-ingress-ip on home: passed, RTO ") == true)

        let samples = try metrics(cli)
        for scenario in ["lose-controlplane", "lose-worker", "move-ingress-ip"] {
            let success = samples.first { $0.name == "clusterctl_drill_success" && $0.labels["scenario"] == scenario }
            #expect(success?.value == 1)
            let rto = samples.first { $0.name == "clusterctl_drill_rto_seconds" && $0.labels["scenario"] == scenario }?.value
            #expect(rto == reports.first { $0.scenario == scenario }?.rtoSeconds)
        }

        // The cluster is back to its spec, and the history lists the runs with their trend.
        let status = try cli.run("status", "home", "--simulate")
        #expect(status.stdout.contains("No drift"), "\(status.stdout)")
        let again = try cli.run(["drill", "run", "home", "--simulate", "--scenario", "lose-worker"])
        #expect(again.status == 0, "\(again.stderr)")
        let history = try cli.run("drill", "history", "home", "--simulate")
        #expect(history.status == 0, "\(history.stderr)")
        #expect(history.stdout.components(separatedBy: "lose-worker").count - 1 == 3, "\(history.stdout)")
        #expect(history.stdout.contains("RTO trend per scenario"))
        let json = try cli.run("drill", "history", "home", "--simulate", "-o", "json")
        let document = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        let trends = document?["trends"] as? [[String: Any]]
        let worker = trends?.first { $0["scenario"] as? String == "lose-worker" }
        #expect((worker?["rto_seconds"] as? [Double])?.count == 2)
        #expect(worker?["median_before"] as? Double != nil)
    }

    @Test func aDegradedClusterIsRefused() throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        try Self.upHome(cli)
        // One more big node in the spec than exist: the cluster is short of its spec.
        let spec = try cli.read("clusters/home.yaml")
        try cli.write("clusters/home.yaml", spec.replacingOccurrences(of: "    role: worker\n    provider: workstation\n    count: 2", with: "    role: worker\n    provider: workstation\n    count: 3"))
        let monitor = try HeartbeatMonitorModel()
        let run = try cli.run(["drill", "run", "home", "--simulate"], environment: ["DRILL_HEARTBEAT_URL": monitor.uptimeKumaURL])
        #expect(run.status == 3, "\(run.stderr)")
        #expect(run.stderr.contains("is not healthy, so no drill was started"), "\(run.stderr)")
        #expect(run.stderr.contains("nodes-ready"), "\(run.stderr)")
        #expect(try reports(cli).isEmpty)
    }

    @Test func twoAtOnceOneRefusesAndDrillStopRepairsMidFault() throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        try Self.upHome(cli)
        let monitor = try HeartbeatMonitorModel()
        // At 60 virtual seconds per real second, nodeLostAfter (10m) holds the fault for 10 s.
        let first = try cli.start(["drill", "run", "home", "--simulate", "--scenario", "lose-worker", "--sim-speed", "60"], environment: ["DRILL_HEARTBEAT_URL": monitor.uptimeKumaURL])
        let lease = waitForFault("home-cloud-2", cli)

        let second = try cli.run(["drill", "run", "home", "--simulate", "--scenario", "lose-controlplane"])
        #expect(second.status == 3, "\(second.stderr)")
        #expect(second.stderr.contains("another drill holds this cluster's drill lease"), "\(second.stderr)")
        #expect(second.stderr.contains("pid \(first.pid)"), "\(second.stderr)")

        let stop = try cli.run("drill", "stop", "home", "--simulate")
        #expect(stop.status == 0, "\(stop.stderr)")
        #expect(stop.stdout.contains("The cluster is repaired"), "\(stop.stdout)")
        let ended = first.wait()
        #expect(ended.status == 1, "\(ended.stderr)")
        let report = try #require(try reports(cli).last)
        #expect(report.outcome == .aborted)
        #expect(report.abortReason?.hasPrefix("stopped by `clusterctl drill stop`") == true, "\(report.abortReason ?? "")")
        #expect(!report.steps.contains { $0.name == "wait" }, "the stop skips nodeLostAfter")
        #expect(monitor.received.map(\.up) == [false])
        #expect(monitor.received.first?.message.contains("stopped by `clusterctl drill stop`") == true)
        #expect(try metrics(cli).first { $0.name == "clusterctl_drill_outcome" && $0.labels["scenario"] == "lose-worker" && $0.labels["outcome"] == "aborted" }?.value == 1)
        let leaseText = (try? String(contentsOf: lease, encoding: .utf8)) ?? ""
        #expect(leaseText.isEmpty, "the lease is released: \(leaseText)")
        #expect(try cli.run("status", "home", "--simulate").stdout.contains("No drift"))
        // Nothing runs any more.
        #expect(try cli.run("drill", "stop", "home", "--simulate").stdout.contains("No drill is running"))
    }

    @Test func drillStopRepairsWhatAnInterruptedDrillLeftBehind() throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        try Self.upHome(cli)
        let first = try cli.start(["drill", "run", "home", "--simulate", "--scenario", "lose-worker", "--sim-speed", "60"])
        let lease = waitForFault("home-cloud-2", cli)
        first.send(SIGINT)
        let ended = first.wait()
        #expect(ended.status == 130, "\(ended.stderr)")
        #expect(ended.stderr.contains("home-cloud-2 is still powered off by this drill"), "\(ended.stderr)")
        // While the dead drill's lease runs, nobody else drills.
        #expect(try cli.run(["drill", "run", "home", "--simulate"]).status == 3)

        // Its lease expires (rewound here instead of waiting a minute); stop takes it over and repairs.
        let text = try String(contentsOf: lease, encoding: .utf8)
        let rewound = text.replacingOccurrences(of: #""renewed_at" : "[^"]*""#, with: #""renewed_at" : "2020-01-01T00:00:00Z""#, options: .regularExpression)
        #expect(rewound != text)
        try rewound.write(to: lease, atomically: false, encoding: .utf8)
        let stop = try cli.run("drill", "stop", "home", "--simulate")
        #expect(stop.status == 0, "\(stop.stderr)")
        #expect(stop.stdout.contains("home-cloud-2, powered off by the drill of "), "\(stop.stdout)")
        #expect(try cli.run("status", "home", "--simulate").stdout.contains("No drift"))
        #expect(try cli.run("drill", "stop", "home", "--simulate").stdout.contains("No drill is running"))
    }

    @Test func aStopConditionTrippingMidDrillAbortsAndRepairs() throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        try Self.upHome(cli)
        let spec = try cli.read("clusters/home.yaml")
        try cli.write("clusters/home.yaml", spec.replacingOccurrences(of: "maxDuration: 45m", with: "maxDuration: 5m"))
        let run = try cli.run(["drill", "run", "home", "--simulate", "--scenario", "lose-controlplane"])
        #expect(run.status == 1, "\(run.stderr)")
        #expect(run.stdout.contains("drill lose-controlplane on home: aborted (guards.maxDuration 5m00s exceeded)"), "\(run.stdout)")
        let report = try #require(try reports(cli).last)
        #expect(report.outcome == .aborted)
        #expect(report.steps.last?.name == "verify" && report.steps.last?.passed == true)
        #expect(try cli.run("status", "home", "--simulate").stdout.contains("No drift"))
    }
}
