public import ClusterKit
import Foundation

extension RealBackends {
    /// `clusterctl image build`: makes (or finds) the provider's Talos image.
    ///
    /// On Hetzner a temporary server boots into rescue mode and the image is written to its disk
    /// over SSH with a throwaway key pair and a known_hosts file that live only as long as the
    /// build. Other providers prepare their image on first `up`, so they are refused here.
    public static func buildImage(
        _ request: ImageRequest, provider: ProviderSpec, environment: [String: String] = HetznerProvisioner.processEnvironment()
    ) async throws -> ProviderImage {
        guard case .hetzner(let settings) = provider.settings else {
            throw ClusterError(
                .refused, "\(provider.name) is a \(provider.type) provider; its image is prepared by `clusterctl up`", hint: "image build makes Hetzner snapshots")
        }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("clusterctl-image-\(UUID().uuidString)", isDirectory: true)
        try SecureFile.ensureDirectory(scratch)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let key = try EphemeralSSHKey(directory: scratch, comment: "clusterctl-image-build")
        let knownHosts = scratch.appendingPathComponent("known_hosts").path
        let base = try HetznerProvisioner(name: provider.name, settings: settings, environment: environment)
        let connect: HetznerImageBuilder.Connect = { address in
            // The rescue system is a server created moments ago with our key; its host key cannot be
            // known before, so it is trusted on first use into a known_hosts that dies with the build.
            SSHClient(SSHConfiguration(host: address, user: "root", privateKeyFile: key.privateKeyFile.path, knownHostsFile: knownHosts, unknownHostKeyPolicy: .trustAndRemember))
        }
        let builder = HetznerImageBuilder(
            client: base.client, waiter: base.waiter, location: settings.locations.first ?? "fsn1", sshPublicKey: key.publicKeyLine, connect: connect)
        let provisioner = HetznerProvisioner(name: provider.name, settings: settings, client: base.client, imageBuilder: builder)
        return try await ClusterError.mapping { try await provisioner.ensureImage(request) }
    }
}
