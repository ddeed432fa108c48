public import ClusterKit

/// The labels clusterctl puts on what it creates in Hetzner Cloud, and the selectors that find
/// them again (spec: "Labels", "Label Selector"). The servers' labels are the inventory: there is
/// no local state.
public enum HetznerLabels {
    public static let managedBy = "managed-by"
    public static let managedByValue = "clusterctl"
    public static let cluster = "cluster"
    public static let pool = "pool"
    public static let role = "role"
    public static let node = "node"

    /// Labels on every resource a cluster owns.
    public static func owned(cluster: String) -> [String: String] {
        [managedBy: managedByValue, Self.cluster: cluster]
    }

    public static func machine(_ identity: NodeIdentity) -> [String: String] {
        owned(cluster: identity.cluster).merging(
            [pool: identity.pool, role: identity.role.rawValue, node: identity.node], uniquingKeysWith: { $1 })
    }

    /// `managed-by==clusterctl,cluster==<name>`.
    public static func clusterSelector(_ cluster: String) -> String {
        "\(managedBy)==\(managedByValue),\(Self.cluster)==\(cluster)"
    }

    /// The identity recorded on a server, if it carries all four labels.
    public static func identity(from labels: [String: String]) -> NodeIdentity? {
        guard let cluster = labels[cluster], let pool = labels[pool], let roleText = labels[role],
            let role = NodeRole(rawValue: roleText), let node = labels[node]
        else { return nil }
        return NodeIdentity(cluster: cluster, pool: pool, role: role, node: node)
    }

    /// Labels identifying a Talos snapshot. Label values are limited to 63 characters, so the
    /// 64-hex-digit schematic id is shortened to its first 32 digits (128 bits); the full id is
    /// in the snapshot's description.
    public static func image(_ request: ImageRequest) -> [String: String] {
        [
            managedBy: managedByValue, "talos-version": request.talosVersion,
            "talos-schematic": String(request.schematicID.prefix(32)), "talos-arch": request.architecture,
            "talos-platform": request.platform,
        ]
    }

    public static func selector(_ labels: [String: String]) -> String {
        labels.sorted { $0.key < $1.key }.map { "\($0.key)==\($0.value)" }.joined(separator: ",")
    }
}
