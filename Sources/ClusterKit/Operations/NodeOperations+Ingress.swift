/// The ingress floating IP: where it points, and moving it.
extension NodeOperations {
    /// The provider that holds `failover.ingressIP`.
    public func floatingIPProvisioner() throws(ClusterError) -> any FloatingIPProvisioner {
        guard let ingress = spec.failover?.ingressIP else {
            throw ClusterError(.invalidSpec, "the endpoint names a floating IP but failover.ingressIP does not define it")
        }
        guard let provisioner = try backend.provisioner(ingress.provider) as? any FloatingIPProvisioner else {
            throw ClusterError(.invalidSpec, "provider \(ingress.provider) cannot hold floating IPs")
        }
        return provisioner
    }

    /// The provider id of the machine the ingress floating IP points at, nil when it points nowhere.
    public func ingressTarget() async throws -> String? {
        guard let ingress = spec.failover?.ingressIP else { return nil }
        let provisioner = try floatingIPProvisioner()
        return try await retrying(.machines, ingress.name, "floating IP target") { try await provisioner.floatingIPTarget(named: ingress.name, cluster: spec.name) }
    }

    /// Points the ingress floating IP at `machine` and returns its address. Hetzner moves an
    /// assigned IP in one call (`POST /floating_ips/{id}/actions/assign`, no unassign first:
    /// FAILOVER-FACTS.md section 4).
    @discardableResult
    public func moveIngressIP(to machine: ObservedMachine) async throws -> String {
        guard let ingress = spec.failover?.ingressIP else {
            throw ClusterError(.invalidSpec, "cluster \(spec.name) has no failover.ingressIP", hint: "define failover.ingressIP with its provider and candidatePools")
        }
        let provisioner = try floatingIPProvisioner()
        let address = try await retrying(.machines, ingress.name, "assign floating IP") {
            try await provisioner.assignFloatingIP(named: ingress.name, cluster: spec.name, to: machine)
        }
        emit(.machines, machine.identity.node, .progress, "holds the ingress floating IP \(address)")
        return address
    }

    /// Points the ingress floating IP at `machine` when the IP points nowhere or at a machine
    /// that is not in `running` (provider ids); a healthy holder keeps it.
    public func claimIngress(for machine: ObservedMachine, running: Set<String>) async throws {
        let target = try await ingressTarget()
        if let target, target == machine.providerID || running.contains(target) { return }
        try await moveIngressIP(to: machine)
    }
}
