public import Foundation

/// What one drill did and how long failover took: the record kept in the cluster's drill history,
/// written as JSON (for tools) and Markdown (for the person reading it on Monday morning).
///
/// `startedAt` and `endedAt` are wall-clock; times inside the report are seconds since the drill
/// started on the backend's clock (virtual under the simulator). Detection time runs from the
/// fault to the moment the repair noticed it; RTO (recovery time) from the fault to the first
/// "after" probe round that passed in full.
public struct DrillReport: Codable, Sendable, Hashable {
    public enum Outcome: String, Codable, Sendable, Hashable, CaseIterable {
        /// The fault was repaired and every probe passed afterwards.
        case passed
        /// The drill ran to its end, but the cluster did not come back to steady state.
        case failed
        /// A stop condition or `drill stop` ended it early (see `abortReason`).
        case aborted
    }

    public enum Phase: String, Codable, Sendable, Hashable, CaseIterable {
        case before, during, after
    }

    /// One check of steady state (API reachable, etcd quorum, nodes Ready, ingress IP answering).
    public struct Probe: Codable, Sendable, Hashable {
        public var name: String
        public var phase: Phase
        public var at: Double
        public var passed: Bool
        public var detail: String

        public init(name: String, phase: Phase, at: Double, passed: Bool, detail: String) {
            self.name = name
            self.phase = phase
            self.at = at
            self.passed = passed
            self.detail = detail
        }
    }

    /// One step of the drill (guards, inject, detect, repair, verify) with its timing.
    public struct Step: Codable, Sendable, Hashable {
        public var name: String
        public var started: Double
        public var duration: Double
        public var passed: Bool
        public var detail: String

        public init(name: String, started: Double, duration: Double, passed: Bool, detail: String) {
            self.name = name
            self.started = started
            self.duration = duration
            self.passed = passed
            self.detail = detail
        }
    }

    public var cluster: String
    /// A ``DrillSpec/Scenario`` raw value; a string so history written by other versions still reads.
    public var scenario: String
    public var simulated: Bool
    /// The node (or IP) the fault hit.
    public var target: String?
    public var startedAt: Date
    public var endedAt: Date
    public var probes: [Probe]
    public var steps: [Step]
    public var detectionSeconds: Double?
    public var rtoSeconds: Double?
    public var outcome: Outcome
    public var abortReason: String?

    public init(
        cluster: String, scenario: String, simulated: Bool, target: String?, startedAt: Date, endedAt: Date, probes: [Probe], steps: [Step],
        detectionSeconds: Double?, rtoSeconds: Double?, outcome: Outcome, abortReason: String?
    ) {
        self.cluster = cluster
        self.scenario = scenario
        self.simulated = simulated
        self.target = target
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.probes = probes
        self.steps = steps
        self.detectionSeconds = detectionSeconds
        self.rtoSeconds = rtoSeconds
        self.outcome = outcome
        self.abortReason = abortReason
    }

    enum CodingKeys: String, CodingKey {
        case cluster, scenario, simulated, target, probes, steps, outcome
        case startedAt = "started_at"
        case endedAt = "ended_at"
        case detectionSeconds = "detection_seconds"
        case rtoSeconds = "rto_seconds"
        case abortReason = "abort_reason"
    }

    /// `20261130T024500Z-lose-worker`: sorts by time, names the history files.
    public var id: String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return "\(formatter.string(from: startedAt))-\(scenario)"
    }

    /// One line for a heartbeat message or a log: outcome, RTO, and why when it did not pass.
    public var summary: String {
        var text = "drill \(scenario) on \(cluster): \(outcome.rawValue)"
        if let rtoSeconds { text += ", RTO \(Self.seconds(rtoSeconds))" }
        if let abortReason { text += " (\(abortReason))" }
        return text
    }

    static func seconds(_ value: Double) -> String {
        value < 10 ? String(format: "%.1fs", value) : "\(Int(value.rounded()))s"
    }

    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }

    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}
