import ArgumentParser
import ClusterKit

/// `--timeout`: how long a whole command may take, in real time (`90s`, `10m`, `2h`). Each HTTP
/// request has its own timeouts and retries, but retries multiply them; this bounds the command.
struct CommandTimeout: ExpressibleByArgument, Sendable, CustomStringConvertible {
    var duration: Duration
    var text: String

    /// Commands that only read the cluster (plan, status, gen config).
    static let reading = CommandTimeout(duration: .seconds(300), text: "5m")
    /// Commands that change it (up, down, node add|remove): long enough for a bring-up whose
    /// nodes each have 30 minutes to come up.
    static let changing = CommandTimeout(duration: .seconds(3600), text: "60m")

    init(duration: Duration, text: String) {
        self.duration = duration
        self.text = text
    }

    init?(argument: String) {
        if argument.hasSuffix("ms"), let value = Int(argument.dropLast(2)), value > 0, value <= 7 * 86_400_000 {
            self.init(duration: .milliseconds(value), text: argument)
            return
        }
        guard let unit = argument.last, let factor = ["s": 1, "m": 60, "h": 3600][unit],
            let value = Int(argument.dropLast()), value > 0, value <= 7 * 86400 / factor
        else { return nil }
        self.init(duration: .seconds(value * factor), text: argument)
    }

    var description: String { text }
}
