import ClusterKit
import Foundation

/// Puts a ``DrillTimer``'s units in place and enables the timer.
///
/// Files it did not write itself (no ``DrillTimer/marker`` first line) are never overwritten.
/// systemctl is called only when systemd runs here (`/run/systemd/system` exists, the test
/// sd_booted(3) makes), or offline for `--root` (`systemctl --root=DIR enable`, which only makes
/// the `timers.target.wants` link); otherwise the commands to run are printed.
struct DrillTimerInstaller {
    let timer: DrillTimer
    let scope: DrillSchedule.Scope
    let root: String?

    var directory: URL {
        let environment = ProcessInfo.processInfo.environment
        let base: String
        switch scope {
        case .system: base = "/etc/systemd/system"
        case .user:
            let config = environment["XDG_CONFIG_HOME"].flatMap { $0.isEmpty ? nil : $0 }
                ?? (environment["HOME"] ?? FileManager.default.homeDirectoryForCurrentUser.path) + "/.config"
            base = config + "/systemd/user"
        }
        return URL(fileURLWithPath: (root.map { URL(fileURLWithPath: $0).standardizedFileURL.path } ?? "") + base, isDirectory: true)
    }

    func install() throws {
        let service = directory.appendingPathComponent(timer.serviceFileName)
        let timerFile = directory.appendingPathComponent(timer.timerFileName)
        for file in [service, timerFile] where SecureFile.exists(file) {
            let existing = (try? SecureFile.read(file)) ?? ""
            guard existing.hasPrefix(DrillTimer.marker) else {
                throw ClusterError(
                    .refused, "\(file.path) exists and was not written by clusterctl; nothing was installed",
                    hint: "move it away, or render the units with `clusterctl drill schedule \(timer.cluster)` and merge them by hand")
            }
        }
        try SecureFile.ensureDirectory(directory)
        try SecureFile.write(timer.service, to: service, mode: 0o644)
        try SecureFile.write(timer.timer, to: timerFile, mode: 0o644)
        Terminal.error("wrote \(service.path)")
        Terminal.error("wrote \(timerFile.path)")

        let userFlag = scope == .user ? ["--user"] : []
        let systemctl = ["/usr/bin/systemctl", "/bin/systemctl"].first { FileManager.default.isExecutableFile(atPath: $0) }
        if let root, scope == .system, let systemctl {
            try run(systemctl, ["--root=\(root)", "enable", timer.timerFileName])
            Terminal.error("enabled \(timer.timerFileName) below \(root); it starts when that system boots")
        } else if root == nil, let systemctl, FileManager.default.fileExists(atPath: "/run/systemd/system") {
            try run(systemctl, userFlag + ["daemon-reload"])
            try run(systemctl, userFlag + ["enable", "--now", timer.timerFileName])
            Terminal.error("enabled and started \(timer.timerFileName); `systemctl \(userFlag.map { $0 + " " }.joined())list-timers \(timer.timerFileName)` shows the next run")
        } else {
            let flags = userFlag.map { $0 + " " }.joined()
            Terminal.error("systemd is not running here, so the timer was not enabled. On a host with systemd run:")
            Terminal.error("  systemctl \(flags)daemon-reload && systemctl \(flags)enable --now \(timer.timerFileName)")
            Terminal.error("On a host without systemd, add this line with `crontab -e` instead:")
            Terminal.error("  \(timer.crontabLine)")
        }
    }

    private func run(_ executable: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.standardError
        do { try process.run() } catch {
            throw ClusterError(.io, "cannot run \(executable): \(error.localizedDescription)")
        }
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ClusterError(
                .io, "`systemctl \(arguments.joined(separator: " "))` failed (exit \(process.terminationStatus)): \(message.trimmingCharacters(in: .whitespacesAndNewlines))",
                hint: "the unit files are in place; run the command yourself once the problem is fixed")
        }
    }
}
