import ClusterKit
import ClusterTestSupport
import Foundation
import Provisioners
import Testing

@Suite("drill heartbeats over libcurl to Uptime Kuma and Healthchecks.io models")
struct DrillHeartbeatTests {
    static func report(_ outcome: DrillReport.Outcome, rto: Double?, reason: String? = nil, detail: String = "ok") -> DrillReport {
        DrillReport(
            cluster: "home", scenario: "lose-worker", simulated: true, target: "home-big-1", startedAt: Date(timeIntervalSince1970: 1_800_000_000),
            endedAt: Date(timeIntervalSince1970: 1_800_000_200), probes: [], steps: [.init(name: "repair", started: 1, duration: 90, passed: true, detail: detail)],
            detectionSeconds: 40, rtoSeconds: rto, outcome: outcome, abortReason: reason)
    }

    @Test func uptimeKumaGetsUpWithTheRTOInMillisecondsOrDownWithTheReason() async throws {
        let monitor = try HeartbeatMonitorModel()
        let heartbeat = try DrillHeartbeat(url: monitor.uptimeKumaURL, source: "environment variable DRILL_HEARTBEAT_URL")
        #expect(heartbeat.service == .uptimeKuma)
        try await heartbeat.push([Self.report(.passed, rto: 95.4321)])
        try await heartbeat.push([Self.report(.aborted, rto: nil, reason: "quorum at risk: 1 of 3 & more+")])
        let beats = monitor.received
        #expect(beats.count == 2)
        #expect(beats.first == .init(up: true, message: "OK", ping: 95432, body: "", method: "GET"))
        #expect(beats.last?.up == false)
        #expect(beats.last?.ping == nil)
        #expect(beats.last?.message == "drill lose-worker on home: aborted (quorum at risk: 1 of 3 & more+)")
    }

    @Test func healthchecksGetsSuccessOrFailWithTheReport() async throws {
        let monitor = try HeartbeatMonitorModel()
        let heartbeat = try DrillHeartbeat(url: monitor.healthchecksURL + "/", source: "env")
        #expect(heartbeat.service == .healthchecks)
        try await heartbeat.push([Self.report(.passed, rto: 80)])
        try await heartbeat.push([Self.report(.failed, rto: nil, detail: String(repeating: "ü", count: 8000))])
        let beats = monitor.received
        #expect(beats.map(\.up) == [true, false])
        #expect(beats.map(\.message) == ["0", "fail"])
        #expect(beats.map(\.method) == ["POST", "POST"])
        #expect(beats[0].body.hasPrefix("drill lose-worker on home: passed, RTO 80s\n\n# Drill lose-worker on home: PASSED"))
        // Cut to the 10 KB Healthchecks.io stores, on a character boundary.
        #expect(beats[1].body.utf8.count <= 10_000 && beats[1].body.utf8.count >= 9_998)
        #expect(!beats[1].body.contains("\u{FFFD}"))
    }

    @Test func oneRunIsOneBeatAndAFailureIsNotHiddenByALaterPass() async throws {
        let monitor = try HeartbeatMonitorModel()
        let heartbeat = try DrillHeartbeat(url: monitor.uptimeKumaURL, source: "env")
        var failed = Self.report(.failed, rto: nil, reason: "the repair failed")
        failed.scenario = "lose-controlplane"
        try await heartbeat.push([failed, Self.report(.passed, rto: 30)])
        try await heartbeat.push([Self.report(.passed, rto: 30), Self.report(.passed, rto: 120.5)])
        #expect(monitor.received.map(\.up) == [false, true])
        #expect(monitor.received.first?.message == "drill lose-controlplane on home: failed (the repair failed)")
        #expect(monitor.received.last?.ping == 120_500)
    }

    @Test func theTokenNeverShowsInAnError() async throws {
        let monitor = try HeartbeatMonitorModel()
        let wrong = "0123456789abcdef-secret-token"
        let kuma = try DrillHeartbeat(url: "\(monitor.server.baseURL)/api/push/\(wrong)?status=up", source: "env", time: HTTPFastTimeSource())
        let error = await #expect(throws: ProvisionerError.self) { try await kuma.push([Self.report(.passed, rto: 1)]) }
        #expect(error?.description.contains("127.0.0.1") == true)
        #expect(error?.description.contains(wrong) == false)
        let checks = try DrillHeartbeat(url: "\(monitor.server.baseURL)/\(wrong)", source: "env", time: HTTPFastTimeSource())
        let notFound = await #expect(throws: ProvisionerError.self) { try await checks.push([Self.report(.passed, rto: 1)]) }
        #expect(notFound?.description.contains(wrong) == false)
        #expect(notFound?.description.contains("404") == true)
        let invalid = #expect(throws: ProvisionerError.self) { try DrillHeartbeat(url: "ftp://\(wrong)", source: "environment variable X") }
        #expect(invalid?.description.contains(wrong) == false)
        #expect(invalid?.description.contains("environment variable X") == true)
        #expect(monitor.received.isEmpty)
    }
}
