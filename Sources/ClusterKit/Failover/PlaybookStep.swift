/// One step of a failover playbook, as `--dry-run` prints it and the report records it.
public struct PlaybookStep: Sendable, Hashable, Codable {
    public enum Action: String, Sendable, Hashable, Codable, CaseIterable {
        /// Probe the provider, the Talos API and Kubernetes until the node is known to be gone.
        case confirmLost = "confirm-lost"
        /// Cordon the node and evict its pods while its kubelet still answers.
        case cordonAndDrain = "cordon-drain"
        /// Remove the node's etcd member through a healthy control plane.
        case removeEtcdMember = "remove-etcd-member"
        /// Delete the Node object, freeing the names of the pods bound to it.
        case deleteKubernetesNode = "delete-kubernetes-node"
        /// Delete the lost machine at its provider.
        case deleteMachine = "delete-machine"
        /// Create the replacement under the same name and role and take it to Ready.
        case createReplacement = "create-replacement"
        /// Wait until every expected node is Ready and the control planes are etcd's voters.
        case waitHealthy = "wait-healthy"
        /// Point the ingress floating IP at a healthy candidate.
        case moveIngressIP = "move-ingress-ip"
        /// Wait until the floating IP answers at its new holder.
        case verifyIngress = "verify-ingress"
    }

    public var action: Action
    /// The node acted on; nil for cluster-wide steps.
    public var node: String?
    /// What the step will do, in a sentence.
    public var detail: String

    public init(_ action: Action, node: String?, _ detail: String) {
        self.action = action
        self.node = node
        self.detail = detail
    }
}
