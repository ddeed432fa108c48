extension ProviderSpec {
    /// The Image Factory platform this provider's machines boot: `hcloud` on Hetzner, `nocloud`
    /// on libvirt and Proxmox (the seed ISO or cloud-init drive carries the config), `metal` in
    /// the simulator.
    public var imageFactoryPlatform: String {
        switch settings {
        case .hetzner: "hcloud"
        case .libvirt, .proxmox: "nocloud"
        case .simulator: "metal"
        }
    }

    public var architecture: String {
        if case .hetzner(let settings) = settings { return settings.architecture }
        return "amd64"
    }
}

extension ClusterSpec {
    /// The Talos image a provider's machines are cloned from.
    public func imageRequest(forProvider name: String) throws(ClusterError) -> ImageRequest {
        guard let provider = provider(named: name) else { throw ClusterError(.notFound, "provider \(name) is not in the spec of \(self.name)") }
        return ImageRequest(
            name: talos.image, talosVersion: talos.version.description, schematicID: talos.schematicID,
            architecture: provider.architecture, platform: provider.imageFactoryPlatform)
    }
}
