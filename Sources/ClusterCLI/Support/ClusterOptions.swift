import ArgumentParser
import ClusterKit

/// Options every cluster command shares.
struct ClusterOptions: ParsableArguments {
    @Argument(help: "The cluster: a name under clusters/ (home) or a path to a spec file.")
    var cluster: String

    @Option(name: .customLong("clusters-dir"), help: "Where cluster names are looked up.")
    var clustersDirectory = "clusters"

    @Flag(help: "Run against the simulator instead of the providers the spec names.")
    var simulate = false

    @Option(help: "Simulator seed: the same seed gives the same run (used when the simulator starts fresh).")
    var seed: UInt64 = 1

    @Option(help: ArgumentHelp(
        "How long the whole command may take (90s, 10m, 2h); default 5m for commands that read, 60m for those that change the cluster.",
        valueName: "duration"))
    var timeout: CommandTimeout?

    /// The spec file this argument names.
    var specPath: String { SpecLoader.resolve(cluster, clustersDirectory: clustersDirectory) }
}

/// How commands print data.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case table, json, yaml
}

struct OutputOptions: ParsableArguments {
    @Option(name: [.customShort("o"), .long], help: "Output format: table, json or yaml.")
    var output: OutputFormat = .table
}
