import ArgumentParser

struct GenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gen",
        abstract: "Generate files from a cluster's spec.",
        subcommands: [GenConfig.self])
}
