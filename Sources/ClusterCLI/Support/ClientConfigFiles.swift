import ClusterKit
import Foundation

/// The cluster's talosconfig and admin kubeconfig, as `up` leaves them for the person who ran it:
/// under the cluster's own directory always, merged into `~/.talos/config` and `~/.kube/config`
/// only when asked (`--merge`). Every file is written 0600, atomically; contents never printed.
struct ClientConfigFiles: Sendable {
    var talosconfig: String
    var kubeconfig: String

    /// Fetches the admin kubeconfig from a running control plane over the Talos API (as
    /// `talosctl kubeconfig` does, so its server is the endpoint the nodes carry) and signs a
    /// talosconfig whose endpoints are the control planes' own addresses.
    static func fetch(spec: ClusterSpec, backend: ClusterBackend, secrets: SecretsStore) async throws -> ClientConfigFiles {
        var machines: [ObservedMachine] = []
        for provider in spec.providers {
            if let found = try? await backend.provisioner(provider.name).listMachines(cluster: spec.name) { machines += found }
        }
        machines = machines.filter { $0.phase == .running && !$0.addresses.isEmpty }.sorted { $0.identity.node < $1.identity.node }
        let controlPlanes = machines.filter { $0.identity.role == .controlPlane }
        var kubeconfig: String?
        var lastError: (any Error)?
        for machine in controlPlanes where kubeconfig == nil {
            do { kubeconfig = try await backend.talos.kubeconfig(via: machine) } catch { lastError = error }
        }
        guard let kubeconfig else {
            throw lastError ?? ClusterError(.notFound, "no control plane of cluster \(spec.name) runs")
        }
        let talosconfig = try ClientConfigs.talosconfig(
            cluster: spec.name, secrets: try secrets.load(), controlPlaneAddresses: controlPlanes.compactMap(\.addresses.first),
            nodes: machines.compactMap(\.addresses.first), now: Date())
        return ClientConfigFiles(talosconfig: talosconfig, kubeconfig: kubeconfig)
    }

    /// Writes both files into `directory`, then merges them into the person's own configs when
    /// `merge` is set; returns the paths written.
    func write(to directory: URL, merge: Bool, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> [String] {
        try SecureFile.ensureDirectory(directory)
        let talosURL = directory.appendingPathComponent("talosconfig")
        let kubeURL = directory.appendingPathComponent("kubeconfig")
        try SecureFile.write(talosconfig, to: talosURL)
        try SecureFile.write(kubeconfig, to: kubeURL)
        var written = [talosURL.path, kubeURL.path]
        guard merge else { return written }
        let home = URL(fileURLWithPath: environment["HOME"] ?? NSHomeDirectory(), isDirectory: true)
        // talosctl and kubectl read these variables first; a KUBECONFIG list merges into its first file.
        let talosTarget = environment["TALOSCONFIG"].flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0) }
            ?? home.appendingPathComponent(".talos/config")
        let kubeTarget = environment["KUBECONFIG"].flatMap { $0.split(separator: ":").first.map { URL(fileURLWithPath: String($0)) } }
            ?? home.appendingPathComponent(".kube/config")
        let mergedTalos = try ClientConfigMerge.talosconfig(talosconfig, into: try Self.existing(talosTarget), path: talosTarget.path)
        let mergedKube = try ClientConfigMerge.kubeconfig(kubeconfig, into: try Self.existing(kubeTarget), path: kubeTarget.path)
        for (text, url) in [(mergedTalos, talosTarget), (mergedKube, kubeTarget)] {
            try SecureFile.ensureDirectory(url.deletingLastPathComponent())
            try SecureFile.write(text, to: url)
            written.append(url.path)
        }
        return written
    }

    private static func existing(_ url: URL) throws -> String? {
        SecureFile.exists(url) ? try SecureFile.read(url) : nil
    }
}
