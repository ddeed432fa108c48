import ArgumentParser
import ClusterKit
import Foundation

struct SecretsExport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write the cluster's bundle in the `talosctl gen secrets` layout (0600), e.g. for a backup.",
        discussion: "Example:\n  clusterctl secrets export home /backup/home-secrets.yaml")

    @OptionGroup var cluster: ClusterOptions

    @Argument(help: "Where to write it.")
    var file: String

    @Flag(help: "Overwrite the file if it exists.")
    var force = false

    func run() throws {
        try reportingErrors {
            let session = try Session(cluster)
            try session.secrets.exportBundle(to: URL(fileURLWithPath: file), force: force)
            Terminal.out("\(session.spec.name): secrets bundle written to \(file)")
        }
    }
}
