/// Where a Talos node is in its own lifecycle, as its machine API reports it.
public enum TalosStage: String, Sendable, Hashable, Codable {
    /// Booted without a config; accepts one over the insecure maintenance API.
    case maintenance
    /// Config accepted; installing to disk and rebooting.
    case installing
    /// Configured and up; services (etcd on control planes, kubelet) running.
    case running
    /// Not answering.
    case unreachable
}

public struct TalosNodeStatus: Sendable, Hashable, Codable {
    public var stage: TalosStage
    public var role: NodeRole?
    public var talosVersion: String?

    public init(stage: TalosStage, role: NodeRole? = nil, talosVersion: String? = nil) {
        self.stage = stage
        self.role = role
        self.talosVersion = talosVersion
    }
}

/// The part of the Talos machine API (`machine.MachineService`, see
/// ../shared/reference/talos/api/machine/machine.proto) that cluster lifecycle needs.
///
/// Every call addresses one node. Errors are ``RetryClassifying``: transient ones ("bootstrap is
/// not available yet", connection refused while a node reboots) are worth retrying, the rest are
/// not. Talos facts cited below come from ../shared/reference/talos/API-FACTS.md.
public protocol TalosAPI: Sendable {
    /// Where the node is: maintenance (answers only without client certificates), running, or not answering.
    func status(of machine: ObservedMachine) async throws -> TalosNodeStatus
    /// `ApplyConfiguration`. `insecure` talks to a node in maintenance mode, which has no client
    /// certificates yet (`talosctl apply-config --insecure`); only the first apply may use it.
    /// Returns the mode Talos actually chose (maintenance turns REBOOT and AUTO into NO_REBOOT).
    func applyConfiguration(
        _ config: MachineConfigPayload, to machine: ObservedMachine, mode: TalosApplyMode, dryRun: Bool, insecure: Bool
    ) async throws -> TalosApplyResult
    /// `Bootstrap`: starts etcd as a new cluster on this control-plane node. Talos refuses only
    /// where etcd already has data (AlreadyExists, reported as ``TalosBootstrapOutcome/alreadyBootstrapped``);
    /// a control plane that has not joined yet happily starts a second cluster, so the executor
    /// checks ``etcdMembers(via:)`` first. `recoverFromSnapshot` uses a snapshot uploaded with
    /// ``etcdRecover(_:from:)``.
    func bootstrap(_ machine: ObservedMachine, recoverFromSnapshot: Bool) async throws -> TalosBootstrapOutcome
    /// `EtcdMemberList`, asked of one control-plane node.
    func etcdMembers(via machine: ObservedMachine) async throws -> [EtcdMember]
    /// `EtcdRemoveMemberByID`, asked of a control-plane node that stays; the ID is looked up by
    /// hostname first. For a member whose node is gone.
    func removeEtcdMember(named name: String, via machine: ObservedMachine) async throws
    /// `EtcdRemoveMemberByID` for a member already looked up: also one with no name yet (a
    /// learner added whose etcd never started).
    func removeEtcdMember(id: UInt64, via machine: ObservedMachine) async throws
    /// `EtcdLeaveCluster`: the node removes its own member and wipes its etcd data. For a live node.
    func leaveEtcd(_ machine: ObservedMachine) async throws
    /// `EtcdSnapshot`, streamed to `path` (written to `<path>.part`, checked, then renamed).
    func etcdSnapshot(via machine: ObservedMachine, to path: String) async throws -> EtcdSnapshotInfo
    /// `EtcdRecover`: uploads a snapshot file for a later recovering ``bootstrap(_:recoverFromSnapshot:)``.
    func etcdRecover(_ machine: ObservedMachine, from path: String) async throws
    /// `Kubeconfig`: a fresh admin kubeconfig (a secret: never log it).
    func kubeconfig(via machine: ObservedMachine) async throws -> String
    /// `Version`; `insecure` asks a node in maintenance mode.
    func version(of machine: ObservedMachine, insecure: Bool) async throws -> TalosVersionInfo
    /// `ServiceList`.
    func services(of machine: ObservedMachine) async throws -> [TalosServiceStatus]
    /// `Reboot`; answers at once, the node reboots afterwards.
    func reboot(_ machine: ObservedMachine, mode: TalosRebootMode) async throws
    /// `Reset`; answers at once, the node wipes itself afterwards.
    func reset(_ machine: ObservedMachine, options: TalosResetOptions) async throws
}

extension TalosAPI {
    /// `ApplyConfiguration` in talosctl's default mode (auto), not a dry run.
    @discardableResult
    public func applyConfiguration(_ config: MachineConfigPayload, to machine: ObservedMachine, insecure: Bool) async throws -> TalosApplyResult {
        try await applyConfiguration(config, to: machine, mode: .auto, dryRun: false, insecure: insecure)
    }

    /// `Bootstrap` of a new etcd cluster (no recovery).
    public func bootstrap(_ machine: ObservedMachine) async throws -> TalosBootstrapOutcome {
        try await bootstrap(machine, recoverFromSnapshot: false)
    }
}
