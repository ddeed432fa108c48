import Foundation

/// Checks a Prometheus text exposition (version 0.0.4) the way node_exporter's textfile collector
/// reads it, since promtool is not installed here: `# HELP` and `# TYPE` at most once per metric
/// and before its samples, a metric's samples together, valid metric and label names, escaped
/// label values, float values (NaN, +Inf, -Inf allowed), and no sample timestamps (the collector
/// skips a whole file that has one; node_exporter `collector/textfile.go`).
public enum PrometheusTextFormat {
    /// One sample as read.
    public struct Sample: Sendable, Hashable {
        public var name: String
        public var labels: [String: String]
        public var value: Double
    }

    /// The samples of `text`, or the problems found, each with its line number.
    public static func parse(_ text: String) -> (samples: [Sample], problems: [String]) {
        var problems: [String] = []
        var samples: [Sample] = []
        var help = Set<String>()
        var types: [String: String] = [:]
        var finished = Set<String>()
        var current: String?
        if !text.isEmpty && !text.hasSuffix("\n") { problems.append("the file does not end with a newline") }
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = index + 1
            if line.isEmpty { continue }
            if line.hasPrefix("#") {
                let words = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false).map(String.init)
                guard words.count >= 3, words[0] == "#", words[1] == "HELP" || words[1] == "TYPE" else { continue }
                let name = words[2]
                if !isMetricName(name) { problems.append("line \(number): bad metric name \(name)") }
                if samples.contains(where: { $0.name == name }) { problems.append("line \(number): \(words[1]) for \(name) after its samples") }
                if words[1] == "HELP" {
                    if !help.insert(name).inserted { problems.append("line \(number): second HELP for \(name)") }
                } else {
                    let type = words.count > 3 ? words[3] : ""
                    if !["counter", "gauge", "histogram", "summary", "untyped"].contains(type) { problems.append("line \(number): bad type \(type)") }
                    if types[name] != nil { problems.append("line \(number): second TYPE for \(name)") }
                    types[name] = type
                }
                continue
            }
            guard let sample = parseSample(String(line), number: number, problems: &problems) else { continue }
            if sample.name != current {
                if let current { finished.insert(current) }
                if finished.contains(sample.name) { problems.append("line \(number): samples of \(sample.name) are not together") }
                current = sample.name
            }
            if types[sample.name] == nil { problems.append("line \(number): \(sample.name) has no TYPE line before it") }
            if !help.contains(sample.name) { problems.append("line \(number): \(sample.name) has no HELP line before it") }
            samples.append(sample)
        }
        return (samples, problems)
    }

    static func isMetricName(_ name: String) -> Bool {
        name.range(of: "^[a-zA-Z_:][a-zA-Z0-9_:]*$", options: .regularExpression) != nil
    }

    private static func parseSample(_ line: String, number: Int, problems: inout [String]) -> Sample? {
        var rest = Substring(line)
        let name = String(rest.prefix { $0 != "{" && $0 != " " })
        rest = rest.dropFirst(name.count)
        guard isMetricName(name) else {
            problems.append("line \(number): bad metric name \(name)")
            return nil
        }
        var labels: [String: String] = [:]
        if rest.first == "{" {
            rest = rest.dropFirst()
            while rest.first != "}" {
                let label = String(rest.prefix { $0 != "=" })
                guard label.range(of: "^[a-zA-Z_][a-zA-Z0-9_]*$", options: .regularExpression) != nil else {
                    problems.append("line \(number): bad label name \(label)")
                    return nil
                }
                rest = rest.dropFirst(label.count)
                guard rest.hasPrefix("=\"") else {
                    problems.append("line \(number): label \(label) has no quoted value")
                    return nil
                }
                rest = rest.dropFirst(2)
                var value = ""
                var closed = false
                while let character = rest.first {
                    rest = rest.dropFirst()
                    if character == "\\" {
                        guard let escaped = rest.first, "\\\"n".contains(escaped) else {
                            problems.append("line \(number): bad escape in label \(label)")
                            return nil
                        }
                        value.append(escaped == "n" ? "\n" : escaped)
                        rest = rest.dropFirst()
                    } else if character == "\"" {
                        closed = true
                        break
                    } else {
                        value.append(character)
                    }
                }
                guard closed else {
                    problems.append("line \(number): unterminated value of label \(label)")
                    return nil
                }
                if labels.updateValue(value, forKey: label) != nil { problems.append("line \(number): label \(label) twice") }
                if rest.first == "," { rest = rest.dropFirst() }
            }
            rest = rest.dropFirst()
        }
        let fields = rest.split(separator: " ", omittingEmptySubsequences: true)
        guard fields.count == 1 else {
            problems.append(fields.count == 2 ? "line \(number): \(name) has a timestamp" : "line \(number): \(name) needs exactly one value")
            return nil
        }
        let text = String(fields[0])
        let value: Double? = switch text {
        case "NaN": .nan
        case "+Inf": .infinity
        case "-Inf": -.infinity
        default: Double(text)
        }
        guard let value else {
            problems.append("line \(number): \(name) value \(text) is not a float")
            return nil
        }
        return Sample(name: name, labels: labels, value: value)
    }
}
