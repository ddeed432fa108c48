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

public struct EtcdMember: Sendable, Hashable, Codable {
    /// The member's name: the node's hostname.
    public var name: String
    public var isLearner: Bool

    public init(name: String, isLearner: Bool = false) {
        self.name = name
        self.isLearner = isLearner
    }
}

/// The part of the Talos machine API (`machine.MachineService`, see
/// ../shared/reference/talos/api/machine/machine.proto) that cluster lifecycle needs.
public protocol TalosAPI: Sendable {
    func status(of machine: ObservedMachine) async throws -> TalosNodeStatus
    /// `ApplyConfiguration`; `insecure` talks to a node in maintenance mode, which has no client certificates yet.
    func applyConfiguration(_ config: MachineConfigPayload, to machine: ObservedMachine, insecure: Bool) async throws
    /// `Bootstrap`: starts etcd as a new cluster on this control-plane node. Talos refuses a second
    /// bootstrap of a cluster whose etcd already has data, and so must we: the executor checks
    /// ``etcdMembers(via:)`` first.
    func bootstrap(_ machine: ObservedMachine) async throws
    /// `EtcdMemberList`, asked of one control-plane node.
    func etcdMembers(via machine: ObservedMachine) async throws -> [EtcdMember]
    /// `EtcdRemoveMemberByID`, asked of a control-plane node that stays.
    func removeEtcdMember(named name: String, via machine: ObservedMachine) async throws
}
