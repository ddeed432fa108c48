public import ClusterKit

/// How a machine's identity is written as Proxmox VM tags (the VM's name is the node name).
///
/// Proxmox tags are lower case `[a-z0-9_][a-z0-9_-+.]*` and the API joins them with `;`
/// (Proxmox VE API, `/nodes/{node}/qemu/{vmid}/config`, `tags`).
public enum ProxmoxTags {
    public static let marker = "clusterctl"

    public static func tags(for identity: NodeIdentity) -> [String] {
        [marker, "cc-cluster-\(identity.cluster)", "cc-pool-\(identity.pool)", "cc-role-\(identity.role.rawValue)"]
            .map { $0.lowercased() }
    }

    /// The description a clone is made with: it marks the VM as this node's before tags are set
    /// (the clone API takes `name` and `description`, not tags; Proxmox VE API, `.../clone`).
    public static func description(for identity: NodeIdentity) -> String {
        "\(marker): node \(identity.node) of cluster \(identity.cluster)"
    }

    /// The identity recorded in a VM's tags and name, or nil when it is not a clusterctl VM.
    public static func identity(tags: String, name: String) -> NodeIdentity? {
        let list = tags.split(whereSeparator: { $0 == ";" || $0 == "," || $0 == " " }).map(String.init)
        guard list.contains(marker) else { return nil }
        func value(_ prefix: String) -> String? {
            list.first { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }
        }
        guard let cluster = value("cc-cluster-"), let pool = value("cc-pool-"),
            let role = value("cc-role-").flatMap(NodeRole.init(rawValue:))
        else { return nil }
        return NodeIdentity(cluster: cluster, pool: pool, role: role, node: name)
    }
}
