import ArgumentParser
import ClusterKit
import Foundation

struct DrillSchedule: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schedule",
        abstract: "Render (or install) the systemd timer and crontab line that run the spec's drills.",
        discussion: """
            Prints a systemd service (Type=oneshot, running `clusterctl drill run <cluster>`), its \
            timer (OnCalendar= from the spec's cron schedule, Persistent=true, AccuracySec=1s) and a \
            crontab line for hosts without systemd. A cron line restricting both day of month and \
            day of week runs on either (crontab(5)), a systemd calendar on both (systemd.time(7)), \
            so it becomes two OnCalendar= lines. A schedule that never fires is refused.

            --install writes the units to ~/.config/systemd/user (--user, the default) or \
            /etc/systemd/system (--system) and enables the timer with systemctl when systemd runs \
            here; otherwise it says what to run. The heartbeat URL is never written into a unit: \
            put `DRILL_HEARTBEAT_URL=...` (the spec's heartbeatURLEnv) into the drill.env file \
            the service names, mode 0600.

            Examples:
              clusterctl drill schedule home
              clusterctl drill schedule home --install
              clusterctl drill schedule home --install --system --root /tmp/image
            """)

    enum Scope: String, EnumerableFlag {
        case user, system

        static func help(for value: Scope) -> ArgumentHelp? {
            value == .user ? "Install for the current user (~/.config/systemd/user), the default." : "Install for the whole system (/etc/systemd/system)."
        }
    }

    @OptionGroup var cluster: ClusterOptions
    @OptionGroup var output: OutputOptions

    @Flag(help: "Write the units and enable the timer.")
    var install = false

    @Flag var scope: Scope = .user

    @Option(help: ArgumentHelp("Install below this directory instead of / (as `systemctl --root`).", valueName: "directory"))
    var root: String?

    func validate() throws {
        if root != nil && !install { throw ValidationError("--root only applies with --install") }
    }

    func run() throws {
        try reportingErrors {
            let session = try Session(cluster)
            let spec = session.spec
            guard let drills = spec.drills else {
                throw ClusterError(
                    .invalidSpec, "cluster \(spec.name) has no drills: section, so there is nothing to schedule",
                    hint: "add drills: (schedule, scenarios, guards) to \(cluster.specPath)")
            }
            let timer = try DrillTimer(
                cluster: spec.name, schedule: drills.schedule, command: command(), workingDirectory: FileManager.default.currentDirectoryPath,
                environment: environment(), environmentFile: SecretsStore.defaultDirectory(cluster: spec.name).appendingPathComponent("drill.env").path,
                maxDuration: drills.guards.maxDuration)
            if install {
                let installer = DrillTimerInstaller(timer: timer, scope: scope, root: root)
                try installer.install()
                return
            }
            let document = ScheduleDocument(timer: timer)
            switch output.output {
            case .json, .yaml: Terminal.out(try Terminal.document(document, format: output.output))
            case .table: Terminal.out(document.text)
            }
        }
    }

    /// `clusterctl drill run`, by absolute paths, so the timer finds the binary and the spec
    /// wherever it starts.
    private func command() -> [String] {
        let binary = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.path
        let current = URL(fileURLWithPath: FileManager.default.currentDirectoryPath, isDirectory: true)
        let clusters = URL(fileURLWithPath: cluster.clustersDirectory, relativeTo: current).standardizedFileURL.path
        let named = cluster.cluster.contains("/") || cluster.cluster.hasSuffix(".yaml")
            ? URL(fileURLWithPath: cluster.cluster, relativeTo: current).standardizedFileURL.path : cluster.cluster
        return [binary, "drill", "run", named, "--clusters-dir", clusters] + (cluster.simulate ? ["--simulate"] : [])
    }

    private func environment() -> [(name: String, value: String)] {
        guard let home = ProcessInfo.processInfo.environment["CLUSTERCTL_HOME"], !home.isEmpty else { return [] }
        return [("CLUSTERCTL_HOME", URL(fileURLWithPath: home).standardizedFileURL.path)]
    }
}

/// What `drill schedule` prints.
struct ScheduleDocument: Encodable {
    var cron: String
    var onCalendar: [String]
    var serviceFile: String
    var service: String
    var timerFile: String
    var timer: String
    var crontab: String

    enum CodingKeys: String, CodingKey {
        case cron, service, timer, crontab
        case onCalendar = "on_calendar"
        case serviceFile = "service_file"
        case timerFile = "timer_file"
    }

    init(timer: DrillTimer) {
        cron = timer.cron
        onCalendar = timer.onCalendar
        serviceFile = timer.serviceFileName
        service = timer.service
        timerFile = timer.timerFileName
        self.timer = timer.timer
        crontab = timer.crontabLine
    }

    var text: String {
        """
        # \(serviceFile)
        \(service)
        # \(timerFile)
        \(timer)
        # crontab line, for hosts without systemd (crontab -e):
        \(crontab)
        """
    }
}
