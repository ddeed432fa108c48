import ArgumentParser

struct ImageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "image",
        abstract: "Build the Talos images a cluster's nodes are cloned from.",
        subcommands: [ImageBuild.self])
}
