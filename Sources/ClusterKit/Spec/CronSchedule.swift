/// A five-field cron expression (minute hour day-of-month month day-of-week), as cron(8) and
/// Kubernetes CronJobs read it: numbers, `*`, ranges `a-b`, lists `a,b` and steps `*/n`.
public struct CronSchedule: Sendable, Hashable, CustomStringConvertible {
    public let expression: String
    /// Allowed values per field, in field order.
    public let fields: [Set<Int>]

    static let ranges: [(name: String, range: ClosedRange<Int>)] = [
        ("minute", 0...59), ("hour", 0...23), ("day of month", 1...31), ("month", 1...12), ("day of week", 0...7),
    ]

    public init(parsing expression: String) throws(CronParseError) {
        let parts = expression.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count == 5 else { throw CronParseError(message: "has \(parts.count) fields; cron needs 5 (minute hour day-of-month month day-of-week), e.g. \"0 2 * * 0\"") }
        var fields: [Set<Int>] = []
        for (part, field) in zip(parts, CronSchedule.ranges) {
            fields.append(try CronSchedule.parseField(String(part), name: field.name, range: field.range))
        }
        // Day of week 7 is Sunday, as 0 is.
        if fields[4].contains(7) { fields[4].remove(7); fields[4].insert(0) }
        self.expression = expression
        self.fields = fields
    }

    public var description: String { expression }

    private static func parseField(_ text: String, name: String, range: ClosedRange<Int>) throws(CronParseError) -> Set<Int> {
        var values = Set<Int>()
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            let stepParts = item.split(separator: "/", omittingEmptySubsequences: false)
            guard stepParts.count <= 2 else { throw CronParseError(message: "\(name) field \"\(item)\" has more than one '/'") }
            var step = 1
            if stepParts.count == 2 {
                guard let parsed = Int(stepParts[1]), parsed > 0 else { throw CronParseError(message: "\(name) field \"\(item)\" has a bad step") }
                step = parsed
            }
            let base = stepParts[0]
            var low = range.lowerBound
            var high = range.upperBound
            if base != "*" {
                let bounds = base.split(separator: "-", omittingEmptySubsequences: false)
                guard bounds.count <= 2, let first = Int(bounds[0]) else { throw CronParseError(message: "\(name) field \"\(item)\" is not a number, range or *") }
                low = first
                high = bounds.count == 2 ? (Int(bounds[1]) ?? -1) : (stepParts.count == 2 ? range.upperBound : first)
                guard range.contains(low), range.contains(high), low <= high else {
                    throw CronParseError(message: "\(name) field \"\(item)\" is outside \(range.lowerBound)-\(range.upperBound)")
                }
            }
            values.formUnion(stride(from: low, through: high, by: step))
        }
        return values
    }
}

public struct CronParseError: Error, Sendable, Hashable {
    public var message: String
}
