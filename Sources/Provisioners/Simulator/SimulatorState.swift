public import ClusterKit

/// Everything the simulated world holds, Codable so it persists between CLI invocations
/// (`up`, then `node add`, then `status` chain from the command line). Times are virtual seconds.
public struct SimulatorState: Sendable, Codable, Hashable {
    public var seed: UInt64
    /// Virtual time when the state was last saved; the next run's clock starts here.
    public var now: Double = 0
    var nextSerial = 1
    /// Providers by spec name.
    var providers: [String: ProviderState] = [:]
    /// Cluster-wide Talos/etcd/Kubernetes/Flux state, by cluster name.
    var clusters: [String: ClusterState] = [:]
    /// Faults still to fire.
    public var faults: [SimulatedFault] = []

    public init(seed: UInt64) { self.seed = seed }

    struct ProviderState: Sendable, Codable, Hashable {
        var type: String
        var index: Int
        /// Images by ``ImageRequest`` key, with the time each became usable.
        var images: [String: ImageRecord] = [:]
        /// Clusters whose shared resources (network, firewall, floating IP) exist here.
        var clusterResources: Set<String> = []
        var machines: [SimulatedMachine] = []
    }

    struct ImageRecord: Sendable, Codable, Hashable {
        var image: ProviderImage
        var readyAt: Double
    }

    struct ClusterState: Sendable, Codable, Hashable {
        /// Provider id of the node etcd was bootstrapped on.
        var bootstrapMachine: String?
        var bootstrappedAt: Double?
        /// The cluster id of the configs etcd was bootstrapped with; others cannot join it.
        var clusterID: String?
        /// Successful `Bootstrap` calls: more than one is a split brain and a bug.
        var bootstrapCalls = 0
        /// Etcd members removed through the API, by provider id (they never rejoin).
        var removedMembers: Set<String> = []
        /// When each of them was removed (virtual time), for worlds saved since it was kept: a
        /// learner's slot is free again only from then.
        var memberRemovedAt: [String: Double] = [:]
        /// Control planes that were bootstrapped a second time before joining: each runs an etcd
        /// cluster of its own (a split brain Talos does not prevent, API-FACTS.md section 4).
        var strayEtcd: Set<String> = []
        /// Snapshots uploaded with EtcdRecover and not yet used, by provider id: whether each is valid.
        var recoverySnapshots: [String: Bool] = [:]
        /// What the valid ones among them hold, by provider id; a recovering bootstrap restores it.
        var recoveryData: [String: SimulatedEtcdData] = [:]
        /// Kubernetes node objects: node name -> provider id of the machine that registered it.
        var kubernetesNodes: [String: String] = [:]
        /// Pods, workloads and cordons; created with the first node.
        var kubernetes: SimulatedKubernetesObjects?
        var gitops: GitOpsRecord?
        /// Floating IPs: name -> provider id of the machine it points at.
        var floatingIPs: [String: String] = [:]
        /// Floating IPs that exist: name -> address.
        var floatingIPAddresses: [String: String] = [:]
        /// When each floating IP was last assigned: name -> virtual time.
        var floatingIPAssignedAt: [String: Double] = [:]
    }

    struct GitOpsRecord: Sendable, Codable, Hashable {
        var url: String
        var branch: String
        var path: String
        var installedAt: Double
    }
}

/// One simulated machine with its Talos state.
struct SimulatedMachine: Sendable, Codable, Hashable {
    var providerID: String
    var provider: String
    var identity: NodeIdentity
    var size: MachineSize
    var location: String
    var imageID: String
    var talosVersion: String?
    var address: String
    var createdAt: Double
    var runningAt: Double
    var failed = false
    var deleted = false
    /// When the machine failed or was deleted; etcd membership it had then outlives it.
    var diedAt: Double?
    /// When its power was cut, while it is off (SimulatedWorld+Power.swift).
    var poweredOffAt: Double?
    /// The power cut the machine has not come back from yet, or last came back from.
    var powerCut: PowerCut?
    var config: MachineConfigSummary?
    var configDigest: String?
    var configAppliedAt: Double?
    /// When Talos finishes installing and rebooting after its config arrived.
    var talosRunningAt: Double?
}

/// A cut of a machine's power (off or reset) as the Kubernetes node controller sees it: when, and
/// whether the Node was Ready then (what its kubelet last posted).
struct PowerCut: Sendable, Codable, Hashable {
    var at: Double
    var wasReady: Bool
}

extension SimulatorState.ClusterState {
    /// Every field with a default may be missing, so a world saved by an earlier clusterctl
    /// (before the field existed) still loads and carries on.
    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        bootstrapMachine = try container.decodeIfPresent(String.self, forKey: .bootstrapMachine)
        bootstrappedAt = try container.decodeIfPresent(Double.self, forKey: .bootstrappedAt)
        clusterID = try container.decodeIfPresent(String.self, forKey: .clusterID)
        bootstrapCalls = try container.decodeIfPresent(Int.self, forKey: .bootstrapCalls) ?? 0
        removedMembers = try container.decodeIfPresent(Set<String>.self, forKey: .removedMembers) ?? []
        memberRemovedAt = try container.decodeIfPresent([String: Double].self, forKey: .memberRemovedAt) ?? [:]
        strayEtcd = try container.decodeIfPresent(Set<String>.self, forKey: .strayEtcd) ?? []
        recoverySnapshots = try container.decodeIfPresent([String: Bool].self, forKey: .recoverySnapshots) ?? [:]
        recoveryData = try container.decodeIfPresent([String: SimulatedEtcdData].self, forKey: .recoveryData) ?? [:]
        kubernetesNodes = try container.decodeIfPresent([String: String].self, forKey: .kubernetesNodes) ?? [:]
        kubernetes = try container.decodeIfPresent(SimulatedKubernetesObjects.self, forKey: .kubernetes)
        gitops = try container.decodeIfPresent(SimulatorState.GitOpsRecord.self, forKey: .gitops)
        floatingIPs = try container.decodeIfPresent([String: String].self, forKey: .floatingIPs) ?? [:]
        floatingIPAddresses = try container.decodeIfPresent([String: String].self, forKey: .floatingIPAddresses) ?? [:]
        floatingIPAssignedAt = try container.decodeIfPresent([String: Double].self, forKey: .floatingIPAssignedAt) ?? [:]
    }
}
