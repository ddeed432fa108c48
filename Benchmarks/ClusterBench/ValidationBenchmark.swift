import ClusterKit
import Foundation

/// How long `validate` takes on good and hostile specs (decode, screen, validate; no I/O past
/// reading the text): the example spec, the hostile corpus of the tests, and generated inputs
/// that once crashed or hung it (a megabyte-long name, an alias bomb, thousands of bad keys).
/// Run from the package root so `clusters/` and the corpus are found.
enum ValidationBenchmark {
    static func run() throws -> String {
        var report = ["Spec validation (SpecLoader.load on text; median of 5 runs)"]
        report.append("input                                    bytes        median     result")
        var inputs: [(String, String)] = []
        if let home = try? String(contentsOfFile: "clusters/home.yaml", encoding: .utf8) { inputs.append(("clusters/home.yaml", home)) }
        let corpus = "Tests/ClusterKitTests/HostileSpecs"
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: corpus)) ?? []).filter { $0.hasSuffix(".yaml") }.sorted()
        let corpusText = files.compactMap { try? String(contentsOfFile: "\(corpus)/\($0)", encoding: .utf8) }
        let base = inputs.first?.1 ?? "name: t\n"
        var huge = base
        if let first = huge.range(of: "name: home\n") { huge.replaceSubrange(first, with: "name: \(String(repeating: "a", count: 1 << 20))\n") }
        inputs.append(("1 MiB cluster name", huge))
        var bomb = "name: t\nx0: &a0 [l, o, l, o, l, o, l, o, l, o]\n"
        for level in 1...9 { bomb += "x\(level): &a\(level) [\(Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", "))]\n" }
        inputs.append(("alias bomb (10^10 values)", bomb))
        inputs.append(("5000 unknown keys", base + (0..<5000).map { "bogus\($0): 1" }.joined(separator: "\n") + "\n"))
        for (label, text) in inputs {
            let (median, result) = measure { outcome(text) }
            report.append(label.padding(toLength: 41, withPad: " ", startingAt: 0) + "\(text.utf8.count)".padding(toLength: 13, withPad: " ", startingAt: 0) + ms(median) + result)
        }
        if !corpusText.isEmpty {
            let (median, _) = measure {
                for text in corpusText { _ = outcome(text) }
                return ""
            }
            report.append("hostile corpus, \(corpusText.count) specs in a row".padding(toLength: 54, withPad: " ", startingAt: 0) + ms(median) + "all refused: \(corpusText.allSatisfy { outcome($0) != "valid" })")
        }
        return report.joined(separator: "\n")
    }

    private static func outcome(_ text: String) -> String {
        do {
            _ = try SpecLoader.load(yaml: text, file: "bench.yaml")
            return "valid"
        } catch {
            return "\(error.errors.count) error\(error.errors.count == 1 ? "" : "s"), \(error.description.utf8.count) B shown"
        }
    }

    private static func measure(_ body: () -> String) -> (Duration, String) {
        let clock = ContinuousClock()
        var times: [Duration] = []
        var result = ""
        for _ in 0..<5 {
            let start = clock.now
            result = body()
            times.append(clock.now - start)
        }
        return (times.sorted()[2], result)
    }

    private static func ms(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        return String(format: "%9.2f ms  ", Double(seconds) * 1000 + Double(attoseconds) / 1e15)
    }
}
