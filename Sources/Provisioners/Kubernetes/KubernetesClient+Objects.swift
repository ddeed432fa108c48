public import ClusterKit
import Foundation

/// Objects of any kind: API discovery maps a kind to its resource path, as kubectl does, so a
/// kind a CRD adds is found once the API server serves it and refused (404, "the server could
/// not find the requested resource") before.
///
/// Paths and semantics are the API server's (kubernetes/website
/// `content/en/docs/reference/using-api/api-concepts.md` and `server-side-apply.md`): `PATCH`
/// with `Content-Type: application/apply-patch+yaml` and the `fieldManager` query parameter is a
/// server-side apply (a JSON body is valid YAML), `force=true` takes over conflicting fields;
/// `POST` to the collection creates (409 `AlreadyExists`), `PUT` replaces (409 `Conflict` on a
/// stale `resourceVersion`); a refused object is a 422 `Invalid` whose Status lists the causes.
extension KubernetesClient: KubernetesObjectAPI {
    @discardableResult
    public func apply(_ object: KubernetesObject, fieldManager: String, force: Bool) async throws -> KubernetesObject {
        let path = try await objectPath(object.reference, "applying \(object.reference)")
        let query = "?fieldManager=\(Self.queryEscaped(fieldManager))" + (force ? "&force=true" : "")
        return try await sendObject(
            request(.patch, path + query, contentType: "application/apply-patch+yaml", body: Array(try object.json.jsonData())),
            "applying \(object.reference)")
    }

    public func object(_ reference: KubernetesObjectReference) async throws -> KubernetesObject? {
        guard let resource = try await resource(for: reference, "reading \(reference)") else { return nil }
        do {
            let response = try await http.send(request(.get, collectionPath(reference, resource) + "/\(Self.pathEscaped(reference.name))"))
            return try Self.decodeObject(response.body, "reading \(reference)")
        } catch let error as HTTPError where error.status == 404 {
            return nil
        } catch let error as HTTPError {
            throw Self.objectError("reading \(reference)", error)
        }
    }

    @discardableResult
    public func create(_ object: KubernetesObject) async throws -> KubernetesObject {
        let reference = object.reference
        guard let resource = try await resource(for: reference, "creating \(reference)") else { throw Self.notServed(reference, "creating") }
        return try await sendObject(
            request(.post, collectionPath(reference, resource), contentType: "application/json", body: Array(try object.json.jsonData())),
            "creating \(reference)")
    }

    @discardableResult
    public func replace(_ object: KubernetesObject) async throws -> KubernetesObject {
        let path = try await objectPath(object.reference, "replacing \(object.reference)")
        return try await sendObject(
            request(.put, path, contentType: "application/json", body: Array(try object.json.jsonData())), "replacing \(object.reference)")
    }

    // MARK: Discovery and paths

    private func objectPath(_ reference: KubernetesObjectReference, _ what: String) async throws -> String {
        guard let resource = try await resource(for: reference, what) else { throw Self.notServed(reference, what) }
        return collectionPath(reference, resource) + "/\(Self.pathEscaped(reference.name))"
    }

    private func collectionPath(_ reference: KubernetesObjectReference, _ resource: KubernetesDiscovery.Resource) -> String {
        var path = KubernetesDiscovery.path(reference.apiVersion)
        if resource.namespaced { path += "/namespaces/\(Self.pathEscaped(reference.namespace ?? "default"))" }
        return path + "/\(resource.name)"
    }

    /// The resource of a kind; nil when the group-version or the kind is not served.
    private func resource(for reference: KubernetesObjectReference, _ what: String) async throws -> KubernetesDiscovery.Resource? {
        if let found = discovery.cached(reference.apiVersion)?[reference.kind] { return found }
        let list: KubernetesWire.APIResourceList
        do {
            let response = try await http.send(request(.get, KubernetesDiscovery.path(reference.apiVersion)))
            list = try JSONDecoder().decode(KubernetesWire.APIResourceList.self, from: Data(response.body))
        } catch let error as HTTPError where error.status == 404 {
            return nil
        } catch let error as HTTPError {
            throw Self.objectError("\(what): discovering \(reference.apiVersion)", error)
        } catch {
            throw ClusterError(.kubernetes, "Kubernetes API: \(what): the discovery document of \(reference.apiVersion) is not an APIResourceList", cause: error)
        }
        var kinds: [String: KubernetesDiscovery.Resource] = [:]
        // Subresources (`gitrepositories/status`) share the kind; only the plain resource addresses objects.
        for item in list.resources ?? [] where !item.name.contains("/") {
            kinds[item.kind] = KubernetesDiscovery.Resource(name: item.name, namespaced: item.namespaced)
        }
        discovery.store(reference.apiVersion, kinds)
        return kinds[reference.kind]
    }

    private func sendObject(_ request: HTTPRequest, _ what: String) async throws -> KubernetesObject {
        do {
            return try Self.decodeObject(try await http.send(request).body, what)
        } catch let error as HTTPError {
            throw Self.objectError(what, error)
        }
    }

    private static func decodeObject(_ body: [UInt8], _ what: String) throws -> KubernetesObject {
        do {
            return KubernetesObject(json: try JSONValue.parse(Data(body)))
        } catch {
            throw ClusterError(.kubernetes, "Kubernetes API: \(what): the answer is not a JSON object", cause: error)
        }
    }

    private static func notServed(_ reference: KubernetesObjectReference, _ what: String) -> ClusterError {
        ClusterError(
            .notFound, "Kubernetes API: \(what) failed: the server could not find the requested resource (\(reference.kind) in \(reference.apiVersion) is not served)",
            hint: "its CustomResourceDefinition is missing or not established yet")
    }

    /// A 409 is a refusal (a field another manager owns, an object that exists, a stale
    /// resourceVersion), a 422 an object the server's validation rejected; both name the API's message.
    static func objectError(_ what: String, _ error: HTTPError) -> ClusterError {
        switch error.status {
        case 409:
            ClusterError(.refused, "Kubernetes API: \(what) failed: \(error.message)",
                hint: "another field manager owns these fields, or the object changed meanwhile; run the command again", cause: error)
        case 422:
            ClusterError(.invalidSpec, "Kubernetes API: \(what) failed: \(error.message)", hint: "the API server refused the object as invalid", cause: error)
        default:
            clusterError(what, error)
        }
    }
}
