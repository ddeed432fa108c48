import Foundation

extension LoopbackCloud {
    /// Routes the floating IP `name` (the endpoint's, at ``endpointAddress``) on `port` to the
    /// server the Hetzner model assigns it to, while that server runs: what the provider does for
    /// a floating IP configured on the candidates (FAILOVER-FACTS.md section 4). Port 50000 makes
    /// the holder's Talos API answer at the IP, as the ingress-ip playbook checks after a move;
    /// the holder's certificate carries the IP among its machine.certSANs. The caller stops it.
    public func routeFloatingIP(named name: String = "api", port: Int = 50000) throws -> LoopbackTCPRoute {
        let hetzner = hetzner
        return try LoopbackTCPRoute(host: endpointAddress, port: port) {
            guard let id = hetzner.floatingIPServer(name),
                let server = hetzner.servers.first(where: { $0.id == id && $0.status == "running" }),
                let address = server.publicIPv4
            else { return nil }
            return (address, port)
        }
    }
}
