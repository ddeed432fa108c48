/// The failover playbooks `clusterctl failover` runs.
public enum PlaybookKind: String, Sendable, Hashable, Codable, CaseIterable {
    /// A control-plane node is gone: remove its etcd member, replace it under the same name.
    case controlPlaneLost = "controlplane-lost"
    /// A worker is gone: drain it if it still answers, replace it under the same name.
    case workerLost = "worker-lost"
    /// Move the ingress floating IP to a healthy candidate and check it answers there.
    case ingressIP = "ingress-ip"

    /// Whether the playbook needs the lost node's name.
    public var needsNode: Bool { self != .ingressIP }

    /// The playbook that replaces a lost node of `role`.
    public static func replacing(_ role: NodeRole) -> PlaybookKind { role == .controlPlane ? .controlPlaneLost : .workerLost }
}
