public import ClusterKit

/// The Talos machine API of simulated nodes.
public struct SimulatedTalosAPI: TalosAPI {
    public let world: SimulatedWorld
    /// The cluster's secrets, for signing kubeconfigs; nil refuses the `Kubeconfig` call.
    private let loadSecrets: @Sendable () throws -> SecretsBundle?

    public init(world: SimulatedWorld, secrets: SecretsBundle? = nil) {
        self.world = world
        self.loadSecrets = { secrets }
    }

    /// Reads the secrets only when a kubeconfig is asked for (a run that never gets that far
    /// never touches the bundle).
    public init(world: SimulatedWorld, secrets: @escaping @Sendable () throws -> SecretsBundle?) {
        self.world = world
        self.loadSecrets = secrets
    }

    public func status(of machine: ObservedMachine) async throws -> TalosNodeStatus { try await world.talosStatus(machine) }

    public func applyConfiguration(
        _ config: MachineConfigPayload, to machine: ObservedMachine, mode: TalosApplyMode, dryRun: Bool, insecure: Bool
    ) async throws -> TalosApplyResult {
        try await world.applyConfiguration(config, to: machine, mode: mode, dryRun: dryRun, insecure: insecure)
    }

    public func bootstrap(_ machine: ObservedMachine, recoverFromSnapshot: Bool) async throws -> TalosBootstrapOutcome {
        try await world.bootstrap(machine, recoverFromSnapshot: recoverFromSnapshot)
    }

    public func etcdMembers(via machine: ObservedMachine) async throws -> [EtcdMember] { try await world.etcdMembers(via: machine) }

    public func removeEtcdMember(named name: String, via machine: ObservedMachine) async throws {
        try await world.removeEtcdMember(named: name, via: machine)
    }

    public func removeEtcdMember(id: UInt64, via machine: ObservedMachine) async throws {
        try await world.removeEtcdMember(id: id, via: machine)
    }

    public func leaveEtcd(_ machine: ObservedMachine) async throws { try await world.leaveEtcd(machine) }

    public func etcdSnapshot(via machine: ObservedMachine, to path: String) async throws -> EtcdSnapshotInfo {
        try await world.etcdSnapshot(via: machine, to: path)
    }

    public func etcdRecover(_ machine: ObservedMachine, from path: String) async throws { try await world.etcdRecover(machine, from: path) }

    public func kubeconfig(via machine: ObservedMachine) async throws -> String { try await world.kubeconfig(via: machine, secrets: try loadSecrets()) }

    public func version(of machine: ObservedMachine, insecure: Bool) async throws -> TalosVersionInfo {
        try await world.version(of: machine, insecure: insecure)
    }

    public func services(of machine: ObservedMachine) async throws -> [TalosServiceStatus] { try await world.services(of: machine) }

    public func reboot(_ machine: ObservedMachine, mode: TalosRebootMode) async throws { try await world.reboot(machine) }

    public func reset(_ machine: ObservedMachine, options: TalosResetOptions) async throws { try await world.reset(machine, options: options) }
}
