extension ClusterSpec {
    /// The floating IP whose address the machine configs carry: the endpoint's when the API is
    /// reached through it, else the ingress IP's. Either way the candidates of
    /// `failover.ingressIP` hold it as a /32 on their link (``FloatingIPAddressing``): Hetzner
    /// only routes a floating IP to a server, whose OS must carry the address, so ingress traffic
    /// needs it even when the API has a DNS name.
    public var configFloatingIPName: String? {
        if case .floatingIP(let name) = endpoint.kind { return name }
        return failover?.ingressIP?.name
    }
}
