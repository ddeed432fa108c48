/// The Kubernetes API calls for objects of any kind, which installing Flux needs: server-side
/// apply, read, and create/replace for a Secret that must not be merged into.
///
/// Errors are ``ClusterError``s carrying the API's Status message: `.notFound` for a missing
/// namespace, `.refused` for a 409 conflict (another field manager owns a field, or the object
/// already exists), `.invalidSpec` for a 422 the server's validation refused.
public protocol KubernetesObjectAPI: Sendable {
    /// Server-side apply (`PATCH` with `application/apply-patch+yaml`): creates the object or
    /// merges the fields `fieldManager` sets into it; `force` takes over fields another manager
    /// owns instead of answering 409. Returns the object as stored.
    @discardableResult
    func apply(_ object: KubernetesObject, fieldManager: String, force: Bool) async throws -> KubernetesObject
    /// The object, or nil when it does not exist, or its kind is not served (a CRD not installed
    /// or not established yet).
    func object(_ reference: KubernetesObjectReference) async throws -> KubernetesObject?
    /// `POST`: creates the object; `.refused` when it exists already.
    @discardableResult
    func create(_ object: KubernetesObject) async throws -> KubernetesObject
    /// `PUT`: replaces the whole object (fields it does not carry are dropped). Carries
    /// `metadata.resourceVersion` when the replace must not overwrite a concurrent change.
    @discardableResult
    func replace(_ object: KubernetesObject) async throws -> KubernetesObject
}
