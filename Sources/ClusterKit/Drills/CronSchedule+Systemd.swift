public import Foundation

extension CronSchedule {
    /// The schedule as systemd `OnCalendar=` expressions (systemd.time(7), "Calendar Events"),
    /// written in the form `systemd-analyze calendar` normalizes to.
    ///
    /// systemd matches a day only when weekday *and* date match ("Thu,Fri 2012-*-1,5 … only if
    /// that day is a Thursday or Friday"), while cron runs on a day matching *either* when both
    /// fields are restricted (crontab(5)). That case becomes two expressions, one per field;
    /// several `OnCalendar=` lines are OR'ed (systemd.timer(5)).
    ///
    /// - Throws: ``ClusterError`` `.invalidSpec` when no expression can say the same, with why:
    ///   a schedule that never fires (`0 0 30 2 *`: cron accepts it and never runs it, systemd
    ///   would accept it too and leave the timer idle forever).
    public func systemdCalendar() throws(ClusterError) -> [String] {
        if nextRuns(after: Date(timeIntervalSince1970: 0), count: 1, timeZone: TimeZone(identifier: "UTC") ?? .current).isEmpty {
            throw ClusterError(
                .invalidSpec,
                "drills.schedule \"\(expression)\" never fires: no month it names has the day of month it names",
                hint: "pick a day every named month has (1-28), or add a month that has it")
        }
        let allDays = Set(1...31)
        let allWeekdays = Set(0...6)
        if daysMatchEither {
            return [Self.calendar(weekdays: fields[4], days: allDays, fields: fields), Self.calendar(weekdays: allWeekdays, days: fields[2], fields: fields)]
        }
        return [Self.calendar(weekdays: fields[4], days: fields[2], fields: fields)]
    }

    private static func calendar(weekdays: Set<Int>, days: Set<Int>, fields: [Set<Int>]) -> String {
        let date = "*-\(numbers(fields[3], in: 1...12))-\(numbers(days, in: 1...31))"
        let time = "\(numbers(fields[1], in: 0...23)):\(numbers(fields[0], in: 0...59)):00"
        let weekdayText = weekdayList(weekdays)
        return (weekdayText.map { "\($0) " } ?? "") + "\(date) \(time)"
    }

    /// `*` for the whole range; `a/n` for a step that runs to the end of the range, `a..b/n` for one
    /// that stops before; otherwise a
    /// list where runs of three or more become `a..b`. Two digits, as systemd prints them.
    static func numbers(_ values: Set<Int>, in range: ClosedRange<Int>) -> String {
        if values == Set(range) { return "*" }
        let sorted = values.sorted()
        let pad = { (value: Int) in value < 10 ? "0\(value)" : "\(value)" }
        if sorted.count >= 3, let first = sorted.first, let last = sorted.last {
            let step = sorted[1] - sorted[0]
            let evenly = zip(sorted, sorted.dropFirst()).allSatisfy { $1 - $0 == step }
            if step > 1, evenly {
                return last + step > range.upperBound ? "\(pad(first))/\(step)" : "\(pad(first))..\(pad(last))/\(step)"
            }
        }
        return runs(sorted).map { run in
            run.count >= 3 ? "\(pad(run[0]))..\(pad(run[run.count - 1]))" : run.map(pad).joined(separator: ",")
        }.joined(separator: ",")
    }

    /// Weekdays in systemd's order (Mon first); nil when every day is allowed.
    static func weekdayList(_ weekdays: Set<Int>) -> String? {
        if weekdays == Set(0...6) { return nil }
        let names = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
        // cron counts 0 = Sunday; systemd lists Monday first.
        let mondayFirst = weekdays.map { ($0 + 6) % 7 }.sorted()
        return runs(mondayFirst).map { run in
            run.count >= 3 ? "\(names[run[0]])..\(names[run[run.count - 1]])" : run.map { names[$0] }.joined(separator: ",")
        }.joined(separator: ",")
    }

    private static func runs(_ sorted: [Int]) -> [[Int]] {
        var result: [[Int]] = []
        for value in sorted {
            if let last = result.last?.last, last + 1 == value { result[result.count - 1].append(value) } else { result.append([value]) }
        }
        return result
    }
}
