/// The Kubernetes API calls cluster lifecycle and failover need: primitives only. Draining is
/// built on top of them in ``NodeDrainer``, once, for every backend.
///
/// Errors are ``ClusterError``s (or a backend's own ``RetryClassifying`` error) that say whether
/// trying again may help: an API server that does not answer yet is transient, a refused
/// certificate is not.
public protocol KubernetesAPI: Sendable {
    /// Whether the API server answers `/readyz` with `ok`. False while it is down or not ready;
    /// throws for what waiting will not fix (a refused certificate).
    func isAPIServerUp() async throws -> Bool
    func nodes() async throws -> [KubernetesNodeStatus]
    /// Pods in `kube-system` (static control-plane pods, CNI, kube-proxy, CoreDNS).
    func systemPods() async throws -> [KubernetesPod]
    /// Cordons (`true`) or uncordons (`false`) a node: `spec.unschedulable` through a merge patch.
    func setUnschedulable(_ unschedulable: Bool, node: String) async throws
    /// Every pod bound to the node, in all namespaces.
    func pods(onNode node: String) async throws -> [KubernetesPod]
    /// Asks the Eviction API to evict one pod; a PodDisruptionBudget may refuse for now.
    func evict(_ pod: KubernetesPod) async throws -> KubernetesEviction
    /// Deletes the Node object; pods still bound to it are garbage-collected. Deleting a node
    /// that does not exist succeeds.
    func deleteNode(_ name: String) async throws
}

extension KubernetesAPI {
    /// Cordons and drains the node (see ``NodeDrainer``), then deletes the Node object. A node
    /// that is not Ready is deleted without draining: its kubelet cannot stop pods, so they would
    /// never finish terminating; deleting the Node frees them to be recreated elsewhere
    /// (kubernetes/website `concepts/architecture/nodes.md`).
    public func drainAndDelete(node name: String, time: any TimeSource, options: NodeDrainer.Options = NodeDrainer.Options()) async throws {
        guard let status = try await nodes().first(where: { $0.name == name }) else { return }
        if status.ready {
            _ = try await NodeDrainer(kubernetes: self, time: time, options: options).drain(node: name)
        }
        try await deleteNode(name)
    }
}
