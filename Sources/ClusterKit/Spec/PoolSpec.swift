/// A set of identical nodes on one provider.
public struct PoolSpec: Sendable, Hashable {
    public var name: String
    public var role: NodeRole
    /// Name of a provider in the spec's `providers:`.
    public var provider: String
    public var count: Int
    public var size: MachineSize
    /// Locations the pool's nodes are spread over round-robin (Hetzner locations); empty uses the
    /// provider's first location or its only site.
    public var locations: [String]
    public var labels: [String: String]
    public var taints: [Taint]
    public var patches: [ConfigPatch]
    /// Patches for single nodes of the pool, by node name.
    public var nodePatches: [String: [ConfigPatch]]
    /// Whether nodes get a public IPv4 (Hetzner). Private-network-only nodes set this false.
    public var publicIPv4: Bool

    public init(
        name: String, role: NodeRole, provider: String, count: Int, size: MachineSize, locations: [String] = [],
        labels: [String: String] = [:], taints: [Taint] = [], patches: [ConfigPatch] = [],
        nodePatches: [String: [ConfigPatch]] = [:], publicIPv4: Bool = true
    ) {
        self.name = name
        self.role = role
        self.provider = provider
        self.count = count
        self.size = size
        self.locations = locations
        self.labels = labels
        self.taints = taints
        self.patches = patches
        self.nodePatches = nodePatches
        self.publicIPv4 = publicIPv4
    }
}

/// A Kubernetes node taint, `key=value:Effect`.
public struct Taint: Sendable, Hashable, CustomStringConvertible {
    public enum Effect: String, Sendable, Hashable, CaseIterable {
        case noSchedule = "NoSchedule"
        case preferNoSchedule = "PreferNoSchedule"
        case noExecute = "NoExecute"
    }

    public var key: String
    public var value: String?
    public var effect: Effect

    public init(key: String, value: String?, effect: Effect) {
        self.key = key
        self.value = value
        self.effect = effect
    }

    public var description: String { "\(key)\(value.map { "=\($0)" } ?? ""):\(effect.rawValue)" }
}
