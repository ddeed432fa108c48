public import Foundation

/// Writes every file `clusterctl gen config` produces into one directory: `<node>.yaml` per
/// node, `talosconfig` and `kubeconfig`; each 0600, written atomically.
public struct ClusterConfigWriter: Sendable {
    public let renderer: MachineConfigRenderer

    public init(renderer: MachineConfigRenderer) { self.renderer = renderer }

    /// The files written, by name.
    public struct Output: Sendable, Hashable {
        public var machineConfigs: [String: URL]
        public var talosconfig: URL
        public var kubeconfig: URL
    }

    /// Renders and writes all nodes' configs plus the client configs.
    ///
    /// - Parameter only: when set, writes only that node's machine config (the client configs
    ///   are still written, listing every node).
    /// - Parameter now: the wall clock for the client certificates; never a simulator's virtual
    ///   time, since real clients and nodes check them against real clocks.
    @discardableResult
    public func write(nodes: [NodeDescription], to directory: URL, only: String? = nil, now: Date = Date()) throws(ClusterError) -> Output {
        if let only, !nodes.contains(where: { $0.name == only }) {
            throw ClusterError(.notFound, "no node named \(only) in cluster \(renderer.spec.name)")
        }
        var configs: [(NodeDescription, MachineConfig)] = []
        for node in nodes where only == nil || node.name == only {
            configs.append((node, try renderer.render(node)))
        }
        try SecureFile.ensureDirectory(directory)
        var written: [String: URL] = [:]
        for (node, config) in configs {
            guard Self.isSafeFileName(node.name) else {
                throw ClusterError(.invalidSpec, "node name \(node.name) cannot be used as a file name")
            }
            let url = directory.appendingPathComponent("\(node.name).yaml")
            try SecureFile.write(config.yaml, to: url)
            written[node.name] = url
        }
        // Endpoints are the control planes' own addresses: a floating IP or VIP moves between
        // nodes and breaks talosctl when it does.
        let shared = Set([try? renderer.endpointHost(), renderer.floatingIPAddress].compactMap { $0 })
        let controlPlaneAddresses = nodes.filter { $0.role == .controlPlane }.compactMap { node in
            node.addresses.first { !shared.contains($0) }
        }
        let talosconfig = try ClientConfigs.talosconfig(
            cluster: renderer.spec.name, secrets: renderer.secrets, controlPlaneAddresses: controlPlaneAddresses,
            nodes: nodes.compactMap { node in node.addresses.first { !shared.contains($0) } }, now: now)
        let kubeconfig = try ClientConfigs.kubeconfig(
            cluster: renderer.spec.name, server: try renderer.endpointURL(), secrets: renderer.secrets, now: now)
        let talosURL = directory.appendingPathComponent("talosconfig")
        let kubeURL = directory.appendingPathComponent("kubeconfig")
        try SecureFile.write(talosconfig, to: talosURL)
        try SecureFile.write(kubeconfig, to: kubeURL)
        return Output(machineConfigs: written, talosconfig: talosURL, kubeconfig: kubeURL)
    }

    static func isSafeFileName(_ name: String) -> Bool {
        !name.isEmpty && !name.hasPrefix(".") && name.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." }
    }
}
