public struct GitOpsStatus: Sendable, Hashable, Codable {
    public var url: String
    public var branch: String
    public var path: String
    public var ready: Bool

    public init(url: String, branch: String, path: String, ready: Bool) {
        self.url = url
        self.branch = branch
        self.path = path
        self.ready = ready
    }

    public func matches(_ spec: GitOpsSpec) -> Bool {
        url == spec.url && branch == spec.branch && path == spec.path
    }
}

/// Installs Flux in the cluster, pointed at the GitOps repository path (the layout `flux bootstrap` writes).
public protocol GitOpsInstaller: Sendable {
    func status() async throws -> GitOpsStatus?
    /// Installs or re-points Flux; returns when its source and kustomization are applied.
    func install(_ spec: GitOpsSpec) async throws
}
