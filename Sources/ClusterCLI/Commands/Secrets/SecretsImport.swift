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
            try session.lockCluster()
            let source = URL(fileURLWithPath: file)
            try session.secrets.importBundle(from: source, force: force)
            if let mode = SecureFile.mode(of: source), SecureFile.isLoose(mode) {
                Terminal.error("warning: \(file) is readable by others (mode \(String(mode, radix: 8))); the imported copy is 0600, but the cluster's secrets may have leaked from this one: remove it or run `chmod 600 \(file)`")
            }
            Terminal.out("\(session.spec.name): secrets bundle imported to \(session.secrets.bundleURL.path)")
        }
    }
}
