import ArgumentParser
import ClusterKit
import Foundation
import Provisioners

struct ImageBuild: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Make the Talos image for a provider, or find the one built before.",
        discussion: """
            On Hetzner: a temporary server boots into rescue mode, the Image Factory `hcloud` image \
            for the spec's Talos version and schematic (images/<name>.yaml) is written to its disk \
            over SSH, the server is powered off and snapshotted with identifying labels, and the \
            server and its throwaway SSH key are deleted, even when a step fails. A snapshot with \
            the same labels is reused. Other providers prepare their image on first `up`.

            Examples:
              clusterctl image build home --provider hcloud
              clusterctl image build home --provider hcloud --simulate
            """)

    @OptionGroup var cluster: ClusterOptions
    @OptionGroup var output: OutputOptions

    @Option(help: "The provider (a name under providers: in the spec).")
    var provider: String

    func run() throws {
        try reportingErrors {
            let session = try Session(cluster, changes: true)
            let spec = session.spec
            guard let providerSpec = spec.provider(named: provider) else {
                throw ClusterError(.invalidSpec, "cluster \(spec.name) has no provider \"\(provider)\"", hint: "providers: " + spec.providers.map(\.name).joined(separator: ", "))
            }
            let request = try spec.imageRequest(forProvider: provider)
            Terminal.error("building Talos \(request.talosVersion) for \(request.platform) \(request.architecture), schematic \(request.schematicID.prefix(12))… on \(provider)")
            let image: ProviderImage
            if cluster.simulate {
                let name = provider
                image = try session.run { backend in try await backend.provisioner(name).ensureImage(request) }
            } else {
                image = try runBlocking { try await RealBackends.buildImage(request, provider: providerSpec) }
            }
            switch output.output {
            case .table: Terminal.out("\(provider): image \(image.id) — \(image.description)")
            case .json, .yaml: Terminal.out(try Terminal.document(["provider": provider, "id": image.id, "description": image.description], format: output.output))
            }
        }
    }
}
