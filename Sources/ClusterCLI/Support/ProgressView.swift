import ClusterKit
import Foundation

/// Shows execution events as they come: a live per-node view on a terminal, plain timestamped
/// lines otherwise, or one JSON object per line with `--output json`.
final class ProgressView: @unchecked Sendable {
    enum Mode { case live, lines, json }

    private let mode: Mode
    private let lock = NSLock()
    /// Latest line per subject, in first-seen order, for the live view.
    private var order: [String] = []
    private var latest: [String: ExecutionEvent] = [:]
    private var drawnLines = 0

    init(output: OutputFormat) {
        if output == .json {
            mode = .json
        } else {
            mode = Terminal.stderrIsTTY && ProcessInfo.processInfo.environment["TERM"] != "dumb" ? .live : .lines
        }
    }

    func handle(_ event: ExecutionEvent) {
        lock.lock()
        defer { lock.unlock() }
        switch mode {
        case .json:
            if let line = try? Terminal.json(EventLine(event), pretty: false) { Terminal.out(line) }
        case .lines:
            Terminal.error(Self.line(event))
        case .live:
            let subject = event.subject ?? "cluster"
            if latest[subject] == nil { order.append(subject) }
            latest[subject] = event
            if event.kind == .retrying || event.kind == .failed { Terminal.error(Self.line(event)); drawnLines = 0 }
            redraw()
        }
    }

    /// Leaves the live view in place and moves below it.
    func finish() {
        lock.lock()
        defer { lock.unlock() }
        drawnLines = 0
    }

    private func redraw() {
        var text = drawnLines > 0 ? "\u{1B}[\(drawnLines)A" : ""
        let width = order.map(\.count).max() ?? 10
        for subject in order {
            guard let event = latest[subject] else { continue }
            let mark = switch event.kind {
            case .succeeded: "✔"
            case .failed: "✘"
            case .retrying: "↻"
            default: "…"
            }
            text += "\u{1B}[2K\(mark) \(subject.padding(toLength: width, withPad: " ", startingAt: 0))  \(event.stage.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0)) \(event.message)  [\(event.elapsed.formattedSeconds)]\n"
        }
        drawnLines = order.count
        FileHandle.standardError.write(Data(SecretScrubber.shared.scrub(text).utf8))
    }

    static func line(_ event: ExecutionEvent) -> String {
        let time = event.elapsed.formattedSeconds
        let subject = (event.subject ?? "cluster").padding(toLength: 16, withPad: " ", startingAt: 0)
        return "[\(String(repeating: " ", count: max(0, 7 - time.count)))\(time)] \(subject) \(event.stage.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0)) \(event.message)"
    }
}

/// An event as a JSON line: `{"elapsed_seconds":12.3,"stage":"machines","subject":"home-cp-1",...}`.
struct EventLine: Encodable {
    var type = "event"
    var elapsedSeconds: Double
    var stage: String
    var subject: String?
    var kind: String
    var message: String

    init(_ event: ExecutionEvent) {
        elapsedSeconds = (event.elapsed.inSeconds * 10).rounded() / 10
        stage = event.stage.rawValue
        subject = event.subject
        kind = event.kind.rawValue
        message = event.message
    }

    enum CodingKeys: String, CodingKey {
        case type, stage, subject, kind, message
        case elapsedSeconds = "elapsed_seconds"
    }
}
