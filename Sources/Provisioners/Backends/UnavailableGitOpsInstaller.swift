public import ClusterKit

/// Stands in for the Flux installer on real clusters until one is wired in
/// (``RealBackends/gitopsInstaller(spec:kubernetes:)``): every call is refused, saying so and what
/// to do instead. Nothing pretends to succeed.
public struct UnavailableGitOpsInstaller: GitOpsInstaller {
    public static let reason = ClusterError(
        .refused, "this build cannot install Flux on real clusters yet",
        hint: "install it with `flux bootstrap`, or run `clusterctl up <cluster> --until bootstrap`")

    public init() {}

    public func status() async throws -> GitOpsStatus? { throw Self.reason }
    public func install(_ spec: GitOpsSpec, force: Bool) async throws -> GitOpsInstallOutcome { throw Self.reason }
}
