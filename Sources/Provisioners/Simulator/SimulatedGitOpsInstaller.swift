public import ClusterKit
import Crypto
import Foundation

/// Flux in a simulated cluster.
public struct SimulatedGitOpsInstaller: GitOpsInstaller {
    public let world: SimulatedWorld
    public let cluster: String

    public init(world: SimulatedWorld, cluster: String) {
        self.world = world
        self.cluster = cluster
    }

    public func status() async throws -> GitOpsStatus? { try await world.gitOpsStatus(cluster: cluster) }

    public func install(_ spec: GitOpsSpec, force: Bool) async throws -> GitOpsInstallOutcome {
        let installed = try await world.installGitOps(cluster: cluster, spec, force: force)
        let revision = Self.revision(url: spec.url, branch: spec.branch, path: spec.path)
        // The simulated world holds no Git repository: an install applies the sync objects only.
        let applied = installed ? ["GitRepository flux-system/flux-system", "Kustomization flux-system/flux-system"] : []
        return GitOpsInstallOutcome(
            revision: revision, pushedCommits: [], applied: applied, secret: .kept,
            messages: [installed ? "simulated Flux is Ready at \(revision)" : "simulated Flux is already Ready at \(revision)"])
    }

    /// The revision simulated Flux reports: `<branch>@sha1:<SHA-1 of url, branch and path>`, the
    /// shape of GitRepository `status.artifact.revision` (source-controller v1), stable for a spec.
    static func revision(url: String, branch: String, path: String) -> String {
        let digest = Insecure.SHA1.hash(data: Data("\(url)\n\(branch)\n\(path)".utf8))
        return "\(branch)@sha1:" + digest.map { String(format: "%02x", $0) }.joined()
    }
}
