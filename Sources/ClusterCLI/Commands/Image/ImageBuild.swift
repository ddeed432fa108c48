import ArgumentParser
import ClusterKit
import Foundation
import Provisioners

struct ImageBuild: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Make the Talos image for a provider, or find the one built before.",
        discussion: """
            On Hetzner: a temporary server boots into rescue mode, the Image Factory `hcloud` image
            for the spec's Talos version and schematic (images/<name>.yaml) is written to its disk
            over SSH, the server is powered off and snapshotted with identifying labels, and the
            server and its throwaway SSH key are deleted, even when a step fails. A snapshot with
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
                guard case .hetzner(let settings) = providerSpec.settings else {
                    throw ClusterError(.refused, "\(provider) is a \(providerSpec.type) provider; its image is prepared by `clusterctl up`", hint: "image build makes Hetzner snapshots")
                }
                image = try HetznerImageBuild(provider: provider, settings: settings).run(request)
            }
            switch output.output {
            case .table: Terminal.out("\(provider): image \(image.id) — \(image.description)")
            case .json, .yaml: Terminal.out(try Terminal.document(["provider": provider, "id": image.id, "description": image.description], format: output.output))
            }
        }
    }
}

/// The pieces a Hetzner image build needs that live only as long as it: a throwaway SSH key pair
/// and a known_hosts file for the rescue system.
struct HetznerImageBuild {
    let provider: String
    let settings: HetznerSettings

    func run(_ request: ImageRequest) throws -> ProviderImage {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("clusterctl-image-\(UUID().uuidString)", isDirectory: true)
        try SecureFile.ensureDirectory(scratch)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let key = try EphemeralSSHKey(directory: scratch, comment: "clusterctl-image-build")
        let knownHosts = scratch.appendingPathComponent("known_hosts").path
        let base = try HetznerProvisioner(name: provider, settings: settings)
        let connect: HetznerImageBuilder.Connect = { address in
            // The rescue system is a server created moments ago with our key; its host key cannot be
            // known before, so it is trusted on first use into a known_hosts that dies with the build.
            SSHClient(SSHConfiguration(host: address, user: "root", privateKeyFile: key.privateKeyFile.path, knownHostsFile: knownHosts, unknownHostKeyPolicy: .trustAndRemember))
        }
        let builder = HetznerImageBuilder(
            client: base.client, waiter: base.waiter, location: settings.locations.first ?? "fsn1", sshPublicKey: key.publicKeyLine, connect: connect)
        let provisioner = HetznerProvisioner(name: provider, settings: settings, client: base.client, imageBuilder: builder)
        return try runBlocking { try await provisioner.ensureImage(request) }
    }
}
