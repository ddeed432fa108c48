import Yams

/// The few facts about a machine config that lifecycle decisions need, read from either contract:
/// the classic single `v1alpha1` document (Talos <= 1.13) or the slim `v1alpha1` document plus
/// `KubeClusterConfig` and `DiscoveryIdentityConfig` (Talos >= 1.14), as in
/// ../shared/reference/talos/examples/.
public struct MachineConfigSummary: Sendable, Hashable, Codable {
    public var role: NodeRole
    public var clusterName: String
    public var clusterID: String

    public init(role: NodeRole, clusterName: String, clusterID: String) {
        self.role = role
        self.clusterName = clusterName
        self.clusterID = clusterID
    }

    /// Parses the config; throws when it is not YAML or lacks what every Talos config has.
    public init(parsing payload: MachineConfigPayload) throws(ClusterError) {
        let documents: [Node]
        do {
            documents = Array(try Yams.compose_all(yaml: payload.text))
        } catch {
            throw ClusterError(.talos, "the machine config is not valid YAML")
        }
        var role: NodeRole?
        var clusterName: String?
        var clusterID: String?
        for document in documents {
            guard let mapping = document.mapping else { continue }
            if mapping["version"]?.string == "v1alpha1" {
                role = mapping["machine"]?.mapping?["type"]?.string.flatMap { NodeRole(rawValue: $0) }
                let cluster = mapping["cluster"]?.mapping
                clusterName = clusterName ?? cluster?["clusterName"]?.string
                clusterID = clusterID ?? cluster?["id"]?.string
            }
            switch mapping["kind"]?.string {
            case "KubeClusterConfig": clusterName = mapping["clusterName"]?.string ?? clusterName
            case "DiscoveryIdentityConfig": clusterID = mapping["clusterID"]?.string ?? clusterID
            default: break
            }
        }
        guard let role else { throw ClusterError(.talos, "the machine config has no machine.type (controlplane or worker)") }
        guard let clusterName, let clusterID else { throw ClusterError(.talos, "the machine config names no cluster (cluster name and id)") }
        self.init(role: role, clusterName: clusterName, clusterID: clusterID)
    }
}
