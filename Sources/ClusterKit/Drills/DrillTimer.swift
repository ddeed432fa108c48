import Foundation

/// The units that run a cluster's drills on the spec's cron schedule: a systemd service and timer,
/// and a crontab line for hosts without systemd.
///
/// The timer sets `Persistent=true`: a drill missed while the host was off runs once when it is
/// back (systemd.timer(5)), where cron would skip it. That is deliberate: a weekly proof that
/// failover works is worth more late than never, and the drill's guards refuse it when the
/// cluster is not healthy at that moment. `AccuracySec=1s` because the default of one minute lets
/// the timer fire up to a minute late (systemd.timer(5)).
public struct DrillTimer: Sendable {
    /// First line of every file written, so `--install` recognises its own earlier units.
    public static let marker = "# Written by `clusterctl drill schedule`; run it again to rewrite this file."

    public var cluster: String
    /// `clusterctl-drill-<cluster>`: the service and timer share it, so the timer's `Unit=` default applies.
    public var unitName: String
    /// The cron expression, as the spec writes it.
    public var cron: String
    /// One `OnCalendar=` expression per line (two when cron's day-of-month/day-of-week OR needs it).
    public var onCalendar: [String]
    /// The command the service and the crontab line run, `argv[0]` an absolute path.
    public var command: [String]
    public var workingDirectory: String
    /// Variables set for the run (`CLUSTERCTL_HOME`); never secrets, the unit files are world-readable.
    public var environment: [(name: String, value: String)]
    /// An optional file of `NAME=value` lines (the heartbeat URL) read at each run; kept 0600 by its owner.
    public var environmentFile: String?
    /// The backstop for a drill that hangs past its own `maxDuration` stop condition.
    public var timeout: Duration

    public init(
        cluster: String, schedule: CronSchedule, command: [String], workingDirectory: String, environment: [(name: String, value: String)] = [],
        environmentFile: String? = nil, maxDuration: Duration
    ) throws(ClusterError) {
        self.cluster = cluster
        unitName = "clusterctl-drill-\(cluster)"
        cron = schedule.expression
        onCalendar = try schedule.systemdCalendar()
        self.command = command
        self.workingDirectory = workingDirectory
        self.environment = environment
        self.environmentFile = environmentFile
        // Room for the repair after a drill stopped at maxDuration.
        timeout = maxDuration + .seconds(30 * 60)
    }

    public var serviceFileName: String { "\(unitName).service" }
    public var timerFileName: String { "\(unitName).timer" }

    /// The oneshot service the timer starts.
    public var service: String {
        var lines = [
            Self.marker,
            "[Unit]",
            "Description=clusterctl failover drill of cluster \(cluster)",
            "Wants=network-online.target",
            "After=network-online.target",
            "",
            "[Service]",
            "Type=oneshot",
            "WorkingDirectory=\(Self.unitEscaped(workingDirectory))",
        ]
        lines += environment.map { "Environment=\(Self.unitQuoted("\($0.name)=\($0.value)"))" }
        // "-": a missing file is not an error (systemd.exec(5), EnvironmentFile=).
        if let environmentFile { lines.append("EnvironmentFile=-\(Self.unitEscaped(environmentFile))") }
        lines += [
            "ExecStart=\(command.map(Self.unitQuoted).joined(separator: " "))",
            "TimeoutStartSec=\(Int(timeout.inSeconds))s",
            "",
        ]
        return lines.joined(separator: "\n")
    }

    /// The timer: one `OnCalendar=` per expression, OR'ed by systemd.
    public var timer: String {
        var lines = [
            Self.marker,
            "[Unit]",
            "Description=Scheduled failover drill of cluster \(cluster) (cron \"\(cron)\")",
            "",
            "[Timer]",
        ]
        lines += onCalendar.map { "OnCalendar=\($0)" }
        lines += ["Persistent=true", "AccuracySec=1s", "", "[Install]", "WantedBy=timers.target", ""]
        return lines.joined(separator: "\n")
    }

    /// A user crontab line (`crontab -e`); a file in /etc/cron.d would need a user field after
    /// the five time fields (crontab(5)). `%` is escaped: cron turns it into a newline.
    public var crontabLine: String {
        let shell = environment.map { "\($0.name)=\(Self.shellQuoted($0.value))" } + command.map(Self.shellQuoted)
        let commandLine = "cd \(Self.shellQuoted(workingDirectory)) && " + shell.joined(separator: " ")
        return "\(cron) \(commandLine.replacingOccurrences(of: "%", with: "\\%"))"
    }

    /// Quotes one word of `ExecStart=` (systemd.service(5), "Command lines"): double quotes when
    /// it holds a space or quote, `%` and `$` doubled so systemd expands neither.
    static func unitQuoted(_ word: String) -> String {
        let escaped = unitEscaped(word).replacingOccurrences(of: "$", with: "$$")
        guard word.isEmpty || word.contains(where: { " \t\"'\\".contains($0) }) else { return escaped }
        return "\"" + escaped.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    /// `%` starts a specifier in unit files (systemd.unit(5), "Specifiers").
    static func unitEscaped(_ text: String) -> String { text.replacingOccurrences(of: "%", with: "%%") }

    static func shellQuoted(_ word: String) -> String {
        if !word.isEmpty, word.allSatisfy({ $0.isLetter || $0.isNumber || "/._-=:+,@".contains($0) }) { return word }
        return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
