public struct KubernetesNodeStatus: Sendable, Hashable, Codable {
    public var name: String
    public var ready: Bool
    public var kubeletVersion: String?

    public init(name: String, ready: Bool, kubeletVersion: String? = nil) {
        self.name = name
        self.ready = ready
        self.kubeletVersion = kubeletVersion
    }
}

/// The Kubernetes API calls cluster lifecycle needs.
public protocol KubernetesAPI: Sendable {
    /// Whether the API server answers at the cluster endpoint.
    func isAPIServerUp() async throws -> Bool
    func nodes() async throws -> [KubernetesNodeStatus]
    /// Cordons and drains, then deletes the node object.
    func drainAndDelete(node name: String) async throws
}
