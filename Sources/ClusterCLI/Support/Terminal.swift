import ClusterKit
import Foundation
import Yams

/// Data goes to stdout; progress, warnings and errors to stderr (after apple/container).
enum Terminal {
    static let stderrIsTTY = isatty(2) == 1
    static let stdoutIsTTY = isatty(1) == 1

    /// Every line shown goes through the scrubber: a server's error text can echo the token it
    /// was sent, and no output of clusterctl may carry a secret the run loaded.
    static func out(_ text: String) {
        FileHandle.standardOutput.write(Data((SecretScrubber.shared.scrub(text) + "\n").utf8))
    }

    static func error(_ text: String) {
        FileHandle.standardError.write(Data((SecretScrubber.shared.scrub(text) + "\n").utf8))
    }

    static func json<Value: Encodable>(_ value: Value, pretty: Bool = true) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// The one place data documents are rendered for `-o json|yaml`.
    static func document<Value: Encodable>(_ value: Value, format: OutputFormat, compact: Bool = false) throws -> String {
        switch format {
        case .yaml:
            let encoder = YAMLEncoder()
            encoder.options.sortKeys = true
            return try encoder.encode(value).trimmingCharacters(in: .newlines)
        case .json, .table:
            return try json(value, pretty: !compact)
        }
    }

    /// Asks a yes/no question on the terminal; false when there is no terminal to ask on.
    static func confirm(_ question: String) -> Bool {
        guard isatty(0) == 1 else { return false }
        FileHandle.standardError.write(Data(SecretScrubber.shared.scrub("\(question) [y/N] ").utf8))
        guard let answer = readLine() else { return false }
        return ["y", "yes"].contains(answer.lowercased())
    }
}
