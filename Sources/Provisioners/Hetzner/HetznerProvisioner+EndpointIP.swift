public import ClusterKit

/// The endpoint side of the floating IP: created before any node, because its address goes into
/// every machine config (endpoint and certificate SANs); assigned to a node later.
extension HetznerProvisioner {
    public func ensureFloatingIP(named ipName: String, cluster: String) async throws -> String {
        try await wrap("ensuring floating IP \(ipName)") { () async throws -> String in
            if let existing = try await client.floatingIPs(named: ipName).first {
                return try claim("floating IP", ipName, labels: existing.labels, cluster: cluster, existing.ip)
            }
            let home = settings.locations.first ?? "fsn1"
            return try await client.createFloatingIP(name: ipName, homeLocation: home, labels: HetznerLabels.owned(cluster: cluster)).ip
        }
    }

    public func floatingIPAddress(named ipName: String, cluster: String) async throws -> String? {
        let floating = try await wrap("reading floating IP \(ipName)") { try await client.floatingIPs(named: ipName).first }
        guard let floating, floating.labels[HetznerLabels.cluster] == cluster else { return nil }
        return floating.ip
    }
}
