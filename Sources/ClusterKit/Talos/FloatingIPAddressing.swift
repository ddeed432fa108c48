/// How the cluster's floating IP reaches whichever node holds it: every node of the ingress IP's
/// candidate pools carries the address as a host route (/32, or /128 for IPv6) on its public
/// link, in its machine config; moving the IP is then only a provider call.
///
/// Hetzner routes a floating IP to the server it is assigned to, but "you must configure them
/// inside your operating system" (Hetzner Cloud API, tag "Floating IPs", in
/// ../shared/reference/hetzner/cloud.spec.json), and Talos' hcloud platform does not configure
/// them from metadata (../shared/reference/FAILOVER-FACTS.md, section 4). So the address goes on
/// every candidate ahead of time, as a `LinkConfig` document (a kind both config contracts
/// accept); the node the IP is assigned to answers, the others never see its traffic.
///
/// Why not Talos' own `HCloudVIPConfig`: it needs a Hetzner API token inside the machine config,
/// and Hetzner serves user data (where the config travels) to anything on the server that asks
/// the metadata service; it runs only on Hetzner control planes, so a hybrid control plane's home
/// member could never hold the IP; it elects the holder through etcd, so the address disappears
/// exactly when etcd is unhealthy; and it is for the Kubernetes API only, while this IP also
/// carries ingress (Talos docs, `HCloudVIPConfig` and "Virtual (shared) IP";
/// ../shared/reference/FAILOVER-FACTS.md, section 4).
///
/// The seam the failover playbooks use: pick a healthy node of ``candidatePools`` (in order of
/// preference) and call `FloatingIPProvisioner.assignFloatingIP(named:cluster:to:)`. No config
/// change, no reboot: the target already carries the address.
public struct FloatingIPAddressing: Sendable, Hashable {
    /// The public link of a Hetzner Cloud server as Talos names it: Talos adds `net.ifnames=0` on
    /// cloud platforms, so the first NIC is `eth0` (Talos docs, "Predictable interface names").
    public static let hetznerLink = "eth0"

    /// The floating IP's name in the spec (`failover.ingressIP.name`).
    public var name: String
    /// The address, as the provider reports it (a bare address; an IPv6 /64 is given by its
    /// first address).
    public var address: String
    /// Pools whose nodes carry the address and may hold the IP, most preferred first.
    public var candidatePools: [String]
    /// The link the address goes on.
    public var link: String

    /// The addressing of the spec's floating IP, nil when the spec has none or its address is not
    /// known. The candidates are `failover.ingressIP.candidatePools`; a floating-IP endpoint
    /// without that section (specs built in code) is held by the control planes.
    public init?(spec: ClusterSpec, address: String?) {
        guard let address, !address.isEmpty else { return nil }
        if let ingress = spec.failover?.ingressIP {
            name = ingress.name
            candidatePools = ingress.candidatePools
        } else if case .floatingIP(let endpointName) = spec.endpoint.kind {
            name = endpointName
            candidatePools = spec.pools.filter { $0.role == .controlPlane }.map(\.name)
        } else {
            return nil
        }
        self.address = address.split(separator: "/").first.map(String.init) ?? address
        link = Self.hetznerLink
    }

    /// Whether nodes of `pool` carry the address.
    public func carries(pool: String) -> Bool { candidatePools.contains(pool) }

    /// The address as a host route: `203.0.113.7/32`, `2001:db8::1/128`.
    public var hostCIDR: String { address.contains(":") ? "\(address)/128" : "\(address)/32" }
}
