public import Foundation

extension CronSchedule {
    /// Whether day-of-month and day-of-week are both restricted, which makes cron run on a day
    /// that matches *either* field (crontab(5): "If both fields are restricted (i.e., do not
    /// start with `*`), the command will be run when either field matches the current time").
    /// Vixie cron and cronie decide this on the field's first character (`DOM_STAR`/`DOW_STAR` in
    /// entry.c), so `*/2` counts as unrestricted: the day must then match both fields.
    public var daysMatchEither: Bool {
        let parts = expression.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count == 5 else { return false }
        return !parts[2].hasPrefix("*") && !parts[4].hasPrefix("*")
    }

    /// Whether cron runs the job on this calendar day (`weekday` 0 = Sunday).
    public func matchesDay(month: Int, day: Int, weekday: Int) -> Bool {
        guard fields[3].contains(month) else { return false }
        let dayOfMonth = fields[2].contains(day)
        let dayOfWeek = fields[4].contains(weekday)
        return daysMatchEither ? (dayOfMonth || dayOfWeek) : (dayOfMonth && dayOfWeek)
    }

    /// The next `count` times cron runs the job strictly after `date`, in `timeZone` (cron reads
    /// its fields in the host's local time). Empty when the schedule never fires (`0 0 31 2 *`).
    /// A wall-clock time that a DST change skips is resolved by Foundation (the next valid
    /// instant), not by cron's own DST rules.
    public func nextRuns(after date: Date, count: Int, timeZone: TimeZone = .current) -> [Date] {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let minutes = fields[0].sorted()
        let hours = fields[1].sorted()
        var runs: [Date] = []
        guard var day = calendar.date(from: calendar.dateComponents([.year, .month, .day], from: date)) else { return [] }
        // 28 years hold every combination of weekday and February 29th: a schedule with no run in
        // that long never fires.
        var daysWithoutRun = 0
        while daysWithoutRun < 28 * 366 {
            daysWithoutRun += 1
            let parts = calendar.dateComponents([.year, .month, .day, .weekday], from: day)
            if let year = parts.year, let month = parts.month, let dayOfMonth = parts.day, let weekday = parts.weekday,
                matchesDay(month: month, day: dayOfMonth, weekday: weekday - 1)
            {
                for hour in hours {
                    for minute in minutes {
                        let components = DateComponents(year: year, month: month, day: dayOfMonth, hour: hour, minute: minute)
                        guard let run = calendar.date(from: components), run > date else { continue }
                        runs.append(run)
                        daysWithoutRun = 0
                        if runs.count == count { return runs }
                    }
                }
            }
            guard let next = calendar.date(byAdding: .day, value: 1, to: day) else { return runs }
            day = next
        }
        return runs
    }
}
