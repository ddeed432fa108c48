import Foundation
#if canImport(Glibc)
    import Glibc
#endif

/// `systemd-analyze` (from Debian's `systemd` package, `.ci/setup.d/systemd.sh`) for the drill
/// schedule tests: `calendar` parses and evaluates OnCalendar= expressions, `verify` checks unit
/// files. Neither needs a running systemd.
public enum SystemdAnalyze {
    public static let path = "/usr/bin/systemd-analyze"

    public static var unavailableReason: String? {
        FileManager.default.isExecutableFile(atPath: path) ? nil : "\(path) is missing (run .ci/setup.d/systemd.sh)"
    }

    /// Runs when systemd-analyze is there, and always in CI, where its absence must fail loudly.
    public static var shouldRun: Bool {
        unavailableReason == nil || ProcessInfo.processInfo.environment["CI"] == "true"
    }

    /// One expression as `systemd-analyze calendar` read it, in UTC.
    public struct Calendar: Sendable, Hashable {
        public var normalized: String
        /// The next elapses, as `YYYY-MM-DD HH:MM:SS` in UTC.
        public var elapses: [String]
    }

    /// `systemd-analyze calendar --iterations=N EXPR` with TZ=UTC.
    public static func calendar(_ expression: String, iterations: Int) throws -> Calendar {
        let text = try run(["calendar", "--iterations=\(iterations)", expression])
        var normalized: String?
        var elapses: [String] = []
        for line in text.split(separator: "\n") {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard let colon = trimmed.firstIndex(of: ":") else { continue }
            let key = trimmed[..<colon]
            let value = trimmed[trimmed.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if key == "Normalized form" { normalized = value }
            // "Next elapse: Sun 2026-12-06 02:30:00 UTC", then "Iter. #2: ..."
            if key == "Next elapse" || key.hasPrefix("Iter. #") {
                let words = value.split(separator: " ")
                if words.count >= 3 { elapses.append("\(words[1]) \(words[2])") }
            }
        }
        guard let normalized else { throw TestSupportError("systemd-analyze calendar \(expression): no normalized form in \(text)") }
        return Calendar(normalized: normalized, elapses: elapses)
    }

    /// `systemd-analyze verify FILES`; returns what it printed (it exits non-zero on errors).
    @discardableResult
    public static func verify(_ files: [String], user: Bool = false) throws -> String {
        try run((user ? ["--user"] : []) + ["verify"] + files)
    }

    static func run(_ arguments: [String]) throws -> String {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("systemd-analyze-\(UUID().uuidString)").path
        defer { unlink(output) }
        var environment = ProcessInfo.processInfo.environment
        environment["TZ"] = "UTC"
        environment["SYSTEMD_PAGER"] = ""
        environment["SYSTEMD_COLORS"] = "0"
        // `--user` looks up the user's runtime directory; a CI container has none.
        let runtime = FileManager.default.temporaryDirectory.appendingPathComponent("systemd-runtime-\(getuid())")
        try? FileManager.default.createDirectory(at: runtime, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        if (environment["XDG_RUNTIME_DIR"] ?? "").isEmpty { environment["XDG_RUNTIME_DIR"] = runtime.path }
        let child = try ChildProcess.spawn(path, arguments, outputFile: output, environment: environment)
        let status = child.wait()
        let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        guard status == 0 else { throw TestSupportError("systemd-analyze \(arguments.joined(separator: " ")) exited \(status): \(text)") }
        return text
    }
}
