import ClusterTestSupport
import Foundation
import Testing

/// Every command's help reads as prose at 80 columns: ArgumentParser wraps each line of a
/// discussion on its own, so a paragraph hard-wrapped in the source comes out ragged.
@Suite struct CLIHelpTextTests {
    @Test func everyCommandsHelpWrapsOnlyWhereTheNextWordDoesNotFit() throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        var pending: [[String]] = [[]]
        var seen = 0
        while let command = pending.popLast() {
            let help = try cli.run(command + ["--help"])
            #expect(help.status == 0, "\(command): \(help.stderr)")
            seen += 1
            let text = help.stdout.components(separatedBy: "\nUSAGE:").first ?? help.stdout
            for problem in Self.raggedLines(text) {
                Issue.record("clusterctl \(command.joined(separator: " ")) --help: \(problem)")
            }
            pending += Self.subcommands(help.stdout).map { command + [$0] }
        }
        #expect(seen > 20, "only \(seen) commands found")
    }

    /// Places where a line was broken although the next word would have fitted, or an indented
    /// line (an example, a table row) ran past the width and spilled into the margin.
    /// ArgumentParser keeps lines shorter than the width (79 columns at 80).
    static func raggedLines(_ text: String, width: Int = 80) -> [String] {
        let lines = text.components(separatedBy: "\n")
        var problems: [String] = []
        for (line, next) in zip(lines, lines.dropFirst()) where !line.isEmpty && !next.isEmpty && !next.hasPrefix(" ") {
            if line.hasPrefix(" ") {
                problems.append("an indented line spills over: \"\(line)\" / \"\(next)\"")
                continue
            }
            let firstWord = next.split(separator: " ").first.map(String.init) ?? next
            if line.count + 1 + firstWord.count < width {
                problems.append("broken early: \"\(line)\" / \"\(next)\"")
            }
        }
        return problems
    }

    /// The names under SUBCOMMANDS:, without the `help` command itself.
    static func subcommands(_ help: String) -> [String] {
        guard let section = help.components(separatedBy: "SUBCOMMANDS:\n").dropFirst().first else { return [] }
        return section.components(separatedBy: "\n").compactMap { line in
            guard line.hasPrefix("  "), !line.hasPrefix("   ") else { return nil }
            let name = line.split(separator: " ").first.map(String.init)
            return name == "See" ? nil : name
        }
    }
}
