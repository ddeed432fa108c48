public import ClusterKit

/// The Talos machine API of simulated nodes.
public struct SimulatedTalosAPI: TalosAPI {
    public let world: SimulatedWorld

    public init(world: SimulatedWorld) { self.world = world }

    public func status(of machine: ObservedMachine) async throws -> TalosNodeStatus { try await world.talosStatus(machine) }

    public func applyConfiguration(_ config: MachineConfigPayload, to machine: ObservedMachine, insecure: Bool) async throws {
        try await world.applyConfiguration(config, to: machine, insecure: insecure)
    }

    public func bootstrap(_ machine: ObservedMachine) async throws { try await world.bootstrap(machine) }

    public func etcdMembers(via machine: ObservedMachine) async throws -> [EtcdMember] { try await world.etcdMembers(via: machine) }

    public func removeEtcdMember(named name: String, via machine: ObservedMachine) async throws {
        try await world.removeEtcdMember(named: name, via: machine)
    }
}
