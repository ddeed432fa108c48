/// One Kubernetes Node object as lifecycle and failover read it.
public struct KubernetesNodeStatus: Sendable, Hashable, Codable {
    public var name: String
    /// The `Ready` condition is `True`. `Unknown` (the kubelet stopped posting) and `False` are not Ready.
    public var ready: Bool
    /// The Ready condition's reason and message (`KubeletReady`, `NodeStatusUnknown: Kubelet
    /// stopped posting node status.`), for timeouts that name the last state seen.
    public var readyReason: String?
    /// Roles from the `node-role.kubernetes.io/<role>` labels (`control-plane`), sorted, as
    /// `kubectl get nodes` derives its ROLES column.
    public var roles: [String]
    public var kubeletVersion: String?
    /// Cordoned: `spec.unschedulable`.
    public var unschedulable: Bool

    public init(
        name: String, ready: Bool, kubeletVersion: String? = nil, roles: [String] = [], unschedulable: Bool = false, readyReason: String? = nil
    ) {
        self.name = name
        self.ready = ready
        self.readyReason = readyReason
        self.roles = roles
        self.kubeletVersion = kubeletVersion
        self.unschedulable = unschedulable
    }

    /// The role-label prefix (Kubernetes well-known labels, `node-role.kubernetes.io/*`).
    public static let roleLabelPrefix = "node-role.kubernetes.io/"

    /// Roles from a node's labels: the part after ``roleLabelPrefix``, sorted.
    public static func roles(fromLabels labels: [String: String]) -> [String] {
        labels.keys.filter { $0.hasPrefix(roleLabelPrefix) }.map { String($0.dropFirst(roleLabelPrefix.count)) }.filter { !$0.isEmpty }.sorted()
    }
}
