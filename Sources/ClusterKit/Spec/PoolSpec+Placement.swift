extension PoolSpec {
    /// The location of the pool's node at 0-based `index`: nodes are spread round-robin over the
    /// pool's `locations`; without them, the provider's first Hetzner location or the simulator's
    /// site. Nil for single-site hypervisors (libvirt, Proxmox).
    public func location(ofNodeAt index: Int, provider: ProviderSpec?) -> String? {
        if !locations.isEmpty { return locations[index % locations.count] }
        switch provider?.settings {
        case .hetzner(let hetzner): return hetzner.locations.first
        case .simulator(let simulator): return simulator.site
        default: return nil
        }
    }

    /// The failure domain of the node at 0-based `index`: `provider/location`, or the provider
    /// name alone for single-site providers. Losing a site loses every node in it.
    public func site(ofNodeAt index: Int, provider: ProviderSpec?) -> String {
        guard let location = location(ofNodeAt: index, provider: provider) else { return self.provider }
        return "\(self.provider)/\(location)"
    }

    /// Node names of the pool at its current count: `<cluster>-<pool>-1` ... `-<count>`.
    public func nodeNames(cluster: String) -> [String] {
        (0..<count).map { NodeIdentity.nodeName(cluster: cluster, pool: name, index: $0 + 1) }
    }
}
