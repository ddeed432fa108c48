import Foundation

// `swift run -c release clusterctl-bench [spine|planner|configs|validate|talos|bringup|failover]`: prints Markdown tables of figures.
let which = CommandLine.arguments.dropFirst().first ?? "all"
do {
    if which == "all" || which == "spine" { print(try SpineBenchmark.run()) }
    if which == "all" || which == "planner" { print("\n" + (try PlannerBenchmark.run())) }
    if which == "all" || which == "configs" { print("\n" + (try await ConfigBenchmark.run())) }
    if which == "all" || which == "validate" { print("\n" + (try ValidationBenchmark.run())) }
    if which == "all" || which == "talos" { print("\n" + (try await TalosWireBenchmark.run())) }
    if which == "all" || which == "bringup" { print("\n" + (try await BringUpWireBenchmark.run())) }
    if which == "all" || which == "failover" { print("\n" + (try FailoverBenchmark.run())) }
} catch {
    FileHandle.standardError.write(Data("benchmark failed: \(error)\n".utf8))
    exit(1)
}
