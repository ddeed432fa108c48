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
    public func drainAndDelete(node name: String) async throws { try await world.drainAndDelete(cluster: cluster, node: name) }
}
