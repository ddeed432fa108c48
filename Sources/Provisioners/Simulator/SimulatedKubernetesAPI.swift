public import ClusterKit

/// The Kubernetes API of a simulated cluster.
public struct SimulatedKubernetesAPI: KubernetesAPI {
    public let world: SimulatedWorld
    public let cluster: String

    public init(world: SimulatedWorld, cluster: String) {
        self.world = world
        self.cluster = cluster
    }

    public func isAPIServerUp() async throws -> Bool { try await world.isAPIServerUp(cluster: cluster) }
    public func nodes() async throws -> [KubernetesNodeStatus] { try await world.kubernetesNodes(cluster: cluster) }
    public func systemPods() async throws -> [KubernetesPod] { try await world.systemPods(cluster: cluster) }
    public func setUnschedulable(_ unschedulable: Bool, node: String) async throws {
        try await world.setUnschedulable(cluster: cluster, node: node, unschedulable)
    }
    public func pods(onNode node: String) async throws -> [KubernetesPod] { try await world.pods(cluster: cluster, node: node) }
    public func evict(_ pod: KubernetesPod) async throws -> KubernetesEviction { try await world.evict(cluster: cluster, pod: pod) }
    public func deleteNode(_ name: String) async throws { try await world.deleteNode(cluster: cluster, node: name) }
}
