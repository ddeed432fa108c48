import ClusterKit
import ClusterTestSupport
import Foundation
import Testing

/// The cron schedule as systemd calendar expressions, checked by systemd itself: its normalized
/// form is what we render, and its next elapses are cron's next runs.
@Suite(.enabled(if: SystemdAnalyze.shouldRun, "systemd-analyze missing: \(SystemdAnalyze.unavailableReason ?? "")"))
struct DrillScheduleTests {
    static let utc = TimeZone(identifier: "UTC") ?? .current

    @Test(arguments: [
        ("30 2 * * 0", ["Sun *-*-* 02:30:00"]),
        ("0 3 * * 7", ["Sun *-*-* 03:00:00"]),
        ("*/15 * * * *", ["*-*-* *:00/15:00"]),
        ("5-59/15 9-17/4 * * 1-5", ["Mon..Fri *-*-* 09..17/4:05/15:00"]),
        ("0 0 1,15 * *", ["*-*-01,15 00:00:00"]),
        ("0 4 * 1,3-5 6,0", ["Sat,Sun *-01,03..05-* 04:00:00"]),
        ("30 4 1,15 * 5", ["Fri *-*-* 04:30:00", "*-*-01,15 04:30:00"]),
        ("0 12 */2 * 1", ["Mon *-*-01/2 12:00:00"]),
        ("0 0 29 2 *", ["*-02-29 00:00:00"]),
        ("7 1 10-20 * 0-2", ["Mon,Tue,Sun *-*-* 01:07:00", "*-*-10..20 01:07:00"]),
    ])
    func calendarMatchesSystemdAndCron(cron: String, expected: [String]) throws {
        let schedule = try CronSchedule(parsing: cron)
        let lines = try schedule.systemdCalendar()
        #expect(lines == expected)
        let iterations = 12
        var elapses = Set<String>()
        for line in lines {
            let parsed = try SystemdAnalyze.calendar(line, iterations: iterations)
            #expect(parsed.normalized == line, "systemd normalizes \(line) to \(parsed.normalized)")
            elapses.formUnion(parsed.elapses)
        }
        // Several OnCalendar= lines are OR'ed: the timer fires at the earliest of their elapses.
        let systemd = Array(elapses.sorted().prefix(iterations))
        let formatter = DateFormatter()
        formatter.timeZone = Self.utc
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        // systemd computed from its own "now"; take cron's runs from just before and after it and
        // accept either, so a minute turning over between the two cannot fail the test.
        let before = schedule.nextRuns(after: Date().addingTimeInterval(-120), count: iterations + 2, timeZone: Self.utc).map(formatter.string)
        let matches = (0..<3).contains { offset in Array(before.dropFirst(offset).prefix(iterations)) == systemd }
        #expect(matches, "systemd \(systemd) vs cron \(before)")
    }

    @Test func cronOrsDaysWhenBothFieldsAreRestricted() throws {
        // crontab(5): "30 4 1,15 * 5" runs on the 1st, the 15th and every Friday.
        let schedule = try CronSchedule(parsing: "30 4 1,15 * 5")
        #expect(schedule.daysMatchEither)
        let start = try #require(ISO8601DateFormatter().date(from: "2026-12-01T00:00:00Z"))
        let runs = schedule.nextRuns(after: start, count: 4, timeZone: Self.utc).map { ISO8601DateFormatter().string(from: $0) }
        #expect(runs == ["2026-12-01T04:30:00Z", "2026-12-04T04:30:00Z", "2026-12-11T04:30:00Z", "2026-12-15T04:30:00Z"])
        // A star-prefixed day of month (Vixie cron's DOM_STAR) makes the days match both fields.
        let both = try CronSchedule(parsing: "0 12 */2 * 1")
        #expect(!both.daysMatchEither)
        #expect(both.matchesDay(month: 12, day: 7, weekday: 1))
        #expect(!both.matchesDay(month: 12, day: 14, weekday: 1))
    }

    @Test func scheduleThatNeverFiresIsRefused() throws {
        let schedule = try CronSchedule(parsing: "0 0 30 2 *")
        #expect(schedule.nextRuns(after: Date(), count: 1).isEmpty)
        let error = try #require(throws: ClusterError.self) { try schedule.systemdCalendar() }
        #expect(error.message.contains("never fires"))
        #expect(error.hint != nil)
    }

    @Test func unitsQuoteWhatSystemdAndTheShellWouldExpand() throws {
        let timer = try DrillTimer(
            cluster: "home", schedule: CronSchedule(parsing: "30 4 1,15 * 5"),
            command: ["/opt/cluster ctl/clusterctl", "drill", "run", "home", "--clusters-dir", "/srv/100%/clusters"],
            workingDirectory: "/srv/100%", environment: [("CLUSTERCTL_HOME", "/var/lib/$x")], environmentFile: "/home/me/drill.env",
            maxDuration: .seconds(45 * 60))
        #expect(timer.service.contains("ExecStart=\"/opt/cluster ctl/clusterctl\" drill run home --clusters-dir /srv/100%%/clusters"))
        #expect(timer.service.contains("Environment=CLUSTERCTL_HOME=/var/lib/$$x"))
        #expect(timer.service.contains("TimeoutStartSec=4500s"))
        #expect(timer.timer.contains("OnCalendar=Fri *-*-* 04:30:00\nOnCalendar=*-*-01,15 04:30:00\nPersistent=true\nAccuracySec=1s"))
        // cron turns an unescaped % into a newline and drops the backslash of \% (crontab(5)).
        #expect(timer.crontabLine == "30 4 1,15 * 5 cd '/srv/100\\%' && CLUSTERCTL_HOME='/var/lib/$x' '/opt/cluster ctl/clusterctl' drill run home --clusters-dir '/srv/100\\%/clusters'")
    }
}
