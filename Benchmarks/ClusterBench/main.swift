import Foundation

// `swift run -c release clusterctl-bench [spine|configs|talos]`: prints Markdown tables of figures.
let which = CommandLine.arguments.dropFirst().first ?? "all"
do {
    if which == "all" || which == "spine" { print(try SpineBenchmark.run()) }
    if which == "all" || which == "configs" { print("\n" + (try await ConfigBenchmark.run())) }
    if which == "all" || which == "talos" { print("\n" + (try await TalosWireBenchmark.run())) }
} catch {
    FileHandle.standardError.write(Data("benchmark failed: \(error)\n".utf8))
    exit(1)
}
