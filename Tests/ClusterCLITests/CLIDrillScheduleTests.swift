import ClusterKit
import ClusterTestSupport
import Foundation
import Testing

/// `clusterctl drill schedule` through the binary: the units it renders and installs pass
/// `systemd-analyze verify`, and the timer is enabled offline below `--root`.
@Suite(.serialized, .enabled(if: SystemdAnalyze.shouldRun, "systemd-analyze missing: \(SystemdAnalyze.unavailableReason ?? "")"))
struct CLIDrillScheduleTests {
    @Test func rendersTheUnitsAndTheCrontabLine() throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        let result = try cli.run(["drill", "schedule", "home"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("Type=oneshot"))
        #expect(result.stdout.contains("OnCalendar=Sun *-*-* 02:30:00\nPersistent=true\nAccuracySec=1s"))
        #expect(result.stdout.contains(" drill run home --clusters-dir \(cli.workDirectory.path)/clusters"))
        // home.yaml: "30 2 * * 0", Sundays 02:30.
        let crontab = try #require(result.stdout.split(separator: "\n").last)
        #expect(crontab.hasPrefix("30 2 * * 0 cd \(cli.workDirectory.path) && "))
        #expect(crontab.hasSuffix(" drill run home --clusters-dir \(cli.workDirectory.path)/clusters"))

        let json = try cli.run(["drill", "schedule", "home", "-o", "json"])
        let document = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        #expect(document?["on_calendar"] as? [String] == ["Sun *-*-* 02:30:00"])
        #expect(document?["timer_file"] as? String == "clusterctl-drill-home.timer")
    }

    @Test func installsForTheSystemBelowARootAndEnablesTheTimerOffline() throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        let root = cli.workDirectory.appendingPathComponent("root")
        let result = try cli.run(["drill", "schedule", "home", "--install", "--system", "--root", root.path])
        #expect(result.status == 0, "\(result.stderr)")
        let units = root.appendingPathComponent("etc/systemd/system")
        let service = units.appendingPathComponent("clusterctl-drill-home.service").path
        let timer = units.appendingPathComponent("clusterctl-drill-home.timer").path
        // ExecStart names the built binary, which exists, so verify checks the whole unit.
        try SystemdAnalyze.verify([service, timer])
        let link = units.appendingPathComponent("timers.target.wants/clusterctl-drill-home.timer").path
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: link)) == "/etc/systemd/system/clusterctl-drill-home.timer")
        let text = try String(contentsOfFile: service, encoding: .utf8)
        #expect(text.contains("ExecStart=\(cli.binary.resolvingSymlinksInPath().path) drill run home"))
        #expect(!text.contains("HEARTBEAT"), "the heartbeat URL embeds a token: never in a world-readable unit")

        // verify is not a rubber stamp: a binary that does not exist fails it.
        let broken = units.appendingPathComponent("clusterctl-drill-broken.service").path
        try text.replacingOccurrences(of: cli.binary.resolvingSymlinksInPath().path, with: "/nonexistent/clusterctl")
            .write(toFile: broken, atomically: true, encoding: .utf8)
        #expect(throws: (any Error).self) { try SystemdAnalyze.verify([broken]) }

        // Installing again rewrites its own files; a file it did not write is refused.
        #expect(try cli.run(["drill", "schedule", "home", "--install", "--system", "--root", root.path]).status == 0)
        try "[Service]\nExecStart=/bin/true\n".write(toFile: timer, atomically: true, encoding: .utf8)
        let refused = try cli.run(["drill", "schedule", "home", "--install", "--system", "--root", root.path])
        #expect(refused.status == 3)
        #expect(refused.stderr.contains("was not written by clusterctl"))
        #expect(try String(contentsOfFile: timer, encoding: .utf8) == "[Service]\nExecStart=/bin/true\n")
    }

    @Test func installsForTheUserAndSaysWhatToRunWithoutSystemd() throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        let home = cli.workDirectory.appendingPathComponent("home")
        let result = try cli.run(["drill", "schedule", "home", "--install"], environment: ["HOME": home.path, "XDG_CONFIG_HOME": ""])
        #expect(result.status == 0, "\(result.stderr)")
        let units = home.appendingPathComponent(".config/systemd/user")
        let paths = ["clusterctl-drill-home.service", "clusterctl-drill-home.timer"].map { units.appendingPathComponent($0).path }
        try SystemdAnalyze.verify(paths, user: true)
        if !FileManager.default.fileExists(atPath: "/run/systemd/system") {
            #expect(result.stderr.contains("systemctl --user daemon-reload && systemctl --user enable --now clusterctl-drill-home.timer"))
            #expect(result.stderr.contains("30 2 * * 0 cd "))
        }
    }
}
