/// Finds a node's machine among a cluster's providers and switches its power: the first step of
/// a drill ("power a node off"), its way back, and `clusterctl node power`.
public struct NodePowerControl: Sendable {
    /// Providers by spec name, as ``ClusterBackend/provisioners`` holds them.
    public var provisioners: [String: any Provisioner]

    public init(provisioners: [String: any Provisioner]) {
        self.provisioners = provisioners
    }

    /// The node's machine and the provider that holds it. Refuses a name two machines carry (the
    /// copy to switch would be a guess) and a provider that cannot switch power.
    public func locate(node: String, cluster: String) async throws -> (machine: ObservedMachine, power: any PowerControlling) {
        var found: [(ObservedMachine, any Provisioner)] = []
        var unreadable: [String] = []
        var names: [String] = []
        for name in provisioners.keys.sorted() {
            guard let provisioner = provisioners[name] else { continue }
            do {
                let machines = try await provisioner.listMachines(cluster: cluster)
                names += machines.map(\.identity.node)
                found += machines.filter { $0.identity.node == node }.map { ($0, provisioner) }
            } catch {
                unreadable.append("\(name) (\(error))")
            }
        }
        guard let first = found.first else {
            if !unreadable.isEmpty {
                throw ClusterError(
                    .notFound, "no provider that answered holds node \(node) of cluster \(cluster); unreadable: \(unreadable.joined(separator: "; "))",
                    hint: "fix access to the provider(s) named and run again")
            }
            throw ClusterError(
                .notFound, "cluster \(cluster) has no node \(node)",
                hint: names.isEmpty ? "the cluster has no machines" : "nodes: \(Set(names).sorted().joined(separator: ", "))")
        }
        let (machine, provisioner) = first
        guard found.count == 1 else {
            throw ClusterError(
                .refused, "\(found.count) machines carry the name \(node): " + found.map { "\($0.0.providerID) on \($0.0.provider)" }.joined(separator: ", "),
                hint: "remove the extra copy first (`clusterctl node remove \(cluster) \(node) --machine <id>`)")
        }
        guard let power = provisioner as? any PowerControlling else {
            throw ClusterError(.refused, "provider \(provisioner.name) cannot switch the power of its machines", hint: "switch \(node) by hand")
        }
        return (machine, power)
    }

    /// The node's power now.
    public func status(node: String, cluster: String) async throws -> NodePowerReport {
        let (machine, power) = try await locate(node: node, cluster: cluster)
        return NodePowerReport(machine: machine, power: try await power.powerState(of: machine))
    }

    /// Runs `action` on the node and reports its power afterwards.
    public func apply(_ action: PowerAction, node: String, cluster: String) async throws -> NodePowerReport {
        let (machine, power) = try await locate(node: node, cluster: cluster)
        try await power.apply(action, to: machine)
        return NodePowerReport(machine: machine, power: try await power.powerState(of: machine))
    }
}

/// A node's power as its provider reports it.
public struct NodePowerReport: Sendable, Hashable, Codable {
    public var node: String
    public var provider: String
    /// The provider's id of the machine (Hetzner server id, Proxmox VMID, libvirt UUID, ...).
    public var machine: String
    public var power: PowerState

    public init(machine: ObservedMachine, power: PowerState) {
        self.node = machine.identity.node
        self.provider = machine.provider
        self.machine = machine.providerID
        self.power = power
    }
}
