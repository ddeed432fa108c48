public import ClusterKit

/// Flux in a simulated cluster.
public struct SimulatedGitOpsInstaller: GitOpsInstaller {
    public let world: SimulatedWorld
    public let cluster: String

    public init(world: SimulatedWorld, cluster: String) {
        self.world = world
        self.cluster = cluster
    }

    public func status() async throws -> GitOpsStatus? { try await world.gitOpsStatus(cluster: cluster) }
    public func install(_ spec: GitOpsSpec) async throws { try await world.installGitOps(cluster: cluster, spec) }
}
