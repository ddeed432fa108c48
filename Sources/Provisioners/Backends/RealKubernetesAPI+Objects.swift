public import ClusterKit

/// Objects of any kind through the same lazily built client, so what keeps its state in the
/// cluster (the drill's Lease `kube-system/clusterctl-drill`) reaches it the way the rest of a
/// real run does, with no kubeconfig of its own to find.
extension RealKubernetesAPI: KubernetesObjectAPI {
    @discardableResult
    public func apply(_ object: KubernetesObject, fieldManager: String, force: Bool) async throws -> KubernetesObject {
        try await client().apply(object, fieldManager: fieldManager, force: force)
    }

    public func object(_ reference: KubernetesObjectReference) async throws -> KubernetesObject? {
        try await client().object(reference)
    }

    @discardableResult
    public func create(_ object: KubernetesObject) async throws -> KubernetesObject {
        try await client().create(object)
    }

    @discardableResult
    public func replace(_ object: KubernetesObject) async throws -> KubernetesObject {
        try await client().replace(object)
    }
}
