import ArgumentParser
import ClusterKit
import Foundation

struct SecretsImport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Adopt a bundle written by `talosctl gen secrets`, to take over an existing cluster.",
        discussion: "Example:\n  clusterctl secrets import home ./secrets.yaml")

    @OptionGroup var cluster: ClusterOptions

    @Argument(help: "The talosctl secrets file.")
    var file: String

    @Flag(help: "Replace the cluster's existing bundle (the old one is lost).")
    var force = false

    func run() throws {
        try reportingErrors {
            let session = try Session(cluster)
            try session.secrets.importBundle(from: URL(fileURLWithPath: file), force: force)
            Terminal.out("\(session.spec.name): secrets bundle imported to \(session.secrets.bundleURL.path)")
        }
    }
}
