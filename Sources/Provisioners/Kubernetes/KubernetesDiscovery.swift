import Synchronization

/// What API discovery said about the kinds of each group-version (`GET /api/v1`,
/// `GET /apis/<group>/<version>`, meta/v1 `APIResourceList`), as kubectl's REST mapper caches it.
///
/// Only lists that were served are kept: a group-version a CRD adds later is fetched again until
/// the API server serves it.
final class KubernetesDiscovery: Sendable {
    /// The REST resource behind a kind.
    struct Resource: Sendable, Hashable {
        /// The plural resource name in URLs (`gitrepositories`).
        var name: String
        var namespaced: Bool
    }

    private let lists = Mutex<[String: [String: Resource]]>([:])

    func cached(_ groupVersion: String) -> [String: Resource]? { lists.withLock { $0[groupVersion] } }

    func store(_ groupVersion: String, _ kinds: [String: Resource]) { lists.withLock { $0[groupVersion] = kinds } }

    /// The discovery path of a group-version: the legacy core group lives under `/api`.
    static func path(_ groupVersion: String) -> String {
        groupVersion.contains("/") ? "/apis/\(groupVersion)" : "/api/\(groupVersion)"
    }
}
