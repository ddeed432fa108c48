public import ClusterKit
import Foundation

/// The generic object half of ``KubernetesAPIModel``: API discovery, server-side apply, create,
/// replace and read for built-in kinds and for the kinds CustomResourceDefinitions add, behaving
/// as kube-apiserver does where a client can tell:
///
/// - Discovery (`GET /api/v1`, `GET /apis/<group>/<version>`) lists the built-in kinds the Flux
///   components use and the kinds of *established* CRDs; any other group-version, and any path of
///   a kind not served, is `404` "the server could not find the requested resource".
/// - A CRD is `NamesAccepted` at once and `Established` after `establishDelay` (the
///   apiextensions-apiserver establishing controller, `pkg/controller/establish`, marks it a
///   moment after the names are accepted; only then are its kinds served).
/// - Server-side apply (kubernetes/website `docs/reference/using-api/server-side-apply.md`):
///   `PATCH` with `application/apply-patch+yaml` and a required `fieldManager` creates (201) or
///   merges (200). Each manager owns the fields it applied; a field another manager owns and the
///   applied value changes is a `409 Conflict` listing the fields unless `force=true` moves the
///   ownership; a field a manager stops applying is removed when nobody else owns it. Lists are
///   atomic here (the real server merges `listType: map` lists by key).
/// - `metadata.generation` counts spec changes of objects with a spec; `status` is never taken
///   from a client's apply, create or replace (the status subresource is separate).
/// - `POST` answers 409 `AlreadyExists`, `PUT` 409 `Conflict` on a stale `resourceVersion`;
///   a namespaced object in a missing namespace is `404 namespaces "x" not found`.
/// - Secrets: `stringData` is merged into `data` (base64) and never stored or returned.
/// - Objects of CRD kinds are validated against the CRD's `spec` schema for `required` fields
///   and string `pattern`s: `422 Invalid` with a cause per field, as the API server answers.
public final class KubernetesObjectStore: @unchecked Sendable {
    /// One kind the store serves.
    public struct Kind: Sendable, Hashable {
        public var group: String
        public var version: String
        public var kind: String
        public var plural: String
        public var namespaced: Bool
        /// The CRD's `openAPIV3Schema` for this version (nil for built-ins).
        var schema: JSONValue?

        var groupVersion: String { group.isEmpty ? version : "\(group)/\(version)" }
        /// `gitrepositories.source.toolkit.fluxcd.io`, or `secrets` in the core group, as Status messages name a resource.
        var qualified: String { group.isEmpty ? plural : "\(plural).\(group)" }
    }

    struct Stored {
        var object: JSONValue
        /// Field manager -> leaf field paths it owns (`.spec.path`).
        var owners: [String: Set<String>]
        var kind: Kind
    }

    static let builtins: [Kind] = [
        Kind(group: "", version: "v1", kind: "Namespace", plural: "namespaces", namespaced: false),
        Kind(group: "", version: "v1", kind: "Secret", plural: "secrets", namespaced: true),
        Kind(group: "", version: "v1", kind: "ConfigMap", plural: "configmaps", namespaced: true),
        Kind(group: "", version: "v1", kind: "Service", plural: "services", namespaced: true),
        Kind(group: "", version: "v1", kind: "ServiceAccount", plural: "serviceaccounts", namespaced: true),
        Kind(group: "", version: "v1", kind: "ResourceQuota", plural: "resourcequotas", namespaced: true),
        Kind(group: "coordination.k8s.io", version: "v1", kind: "Lease", plural: "leases", namespaced: true),
        Kind(group: "apps", version: "v1", kind: "Deployment", plural: "deployments", namespaced: true),
        Kind(group: "networking.k8s.io", version: "v1", kind: "NetworkPolicy", plural: "networkpolicies", namespaced: true),
        Kind(group: "rbac.authorization.k8s.io", version: "v1", kind: "ClusterRole", plural: "clusterroles", namespaced: false),
        Kind(group: "rbac.authorization.k8s.io", version: "v1", kind: "ClusterRoleBinding", plural: "clusterrolebindings", namespaced: false),
        Kind(group: "apiextensions.k8s.io", version: "v1", kind: "CustomResourceDefinition", plural: "customresourcedefinitions", namespaced: false),
    ]

    private let lock = NSRecursiveLock()
    private let now: @Sendable () -> Double
    /// How long a new CRD takes to become Established.
    public var establishDelay: Double
    private var objects: [String: Stored] = [:]
    private var crdCreated: [String: Double] = [:]
    private var resourceVersion = 5000
    private var serial = 0
    /// Every write, `VERB Kind namespace/name` (`APPLY`, `CREATE`, `REPLACE`), in order.
    public private(set) var writes: [String] = []

    init(now: @escaping @Sendable () -> Double, establishDelay: Double = 0.3) {
        self.now = now
        self.establishDelay = establishDelay
    }

    // MARK: Reading and writing from tests and controller models

    /// The object, as a GET would return it.
    public func object(apiVersion: String, kind: String, namespace: String?, name: String) -> JSONValue? {
        withLock {
            guard let served = kinds().first(where: { $0.groupVersion == apiVersion && $0.kind == kind }) else { return nil }
            return objects[Self.key(served, namespace, name)].map { settled($0).object }
        }
    }

    /// Every stored object of a kind (served or not).
    public func objects(apiVersion: String, kind: String) -> [JSONValue] {
        withLock {
            objects.values.filter { $0.kind.groupVersion == apiVersion && $0.kind.kind == kind }.map { settled($0).object }
                .sorted { ($0.value(at: ["metadata", "name"])?.stringValue ?? "") < ($1.value(at: ["metadata", "name"])?.stringValue ?? "") }
        }
    }

    /// Changes an object in place, as a controller writes through the status subresource (or a
    /// user edits it): `resourceVersion` moves, and `generation` when the spec changed.
    public func update(apiVersion: String, kind: String, namespace: String?, name: String, _ change: (inout JSONValue) -> Void) {
        withLock {
            guard let served = kinds().first(where: { $0.groupVersion == apiVersion && $0.kind == kind }),
                var stored = objects[Self.key(served, namespace, name)]
            else { return }
            let before = stored.object["spec"]
            change(&stored.object)
            if stored.object["spec"] != before { bumpGeneration(&stored.object) }
            bumpResourceVersion(&stored.object)
            objects[Self.key(served, namespace, name)] = stored
        }
    }

    /// Adds an object as another client would (a Namespace the cluster has, a Secret a user made).
    public func seed(_ object: JSONValue, manager: String = "kubectl") {
        withLock {
            guard let kind = kinds().first(where: { $0.groupVersion == object["apiVersion"]?.stringValue && $0.kind == object["kind"]?.stringValue }) else { return }
            _ = create(object, kind: kind, manager: manager, namespaceCheck: false)
        }
    }

    private func withLock<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    // MARK: Serving

    /// Answers a request for discovery or objects; nil for paths it does not know (the model's 404).
    func handle(_ request: HTTPLoopbackRequest) -> HTTPLoopbackReply? {
        withLock {
            let parts = request.path.split(separator: "/").map(String.init)
            guard let first = parts.first, first == "api" || first == "apis" else { return nil }
            let groupVersionCount = first == "api" ? 1 : 2
            guard parts.count > groupVersionCount else { return nil }
            let groupVersion = parts[1...groupVersionCount].joined(separator: "/")
            let served = kinds().filter { $0.groupVersion == groupVersion }
            var rest = Array(parts.dropFirst(1 + groupVersionCount))
            if rest.isEmpty {
                guard request.method == "GET", !served.isEmpty else { return nil }
                return discovery(groupVersion, served)
            }
            var namespace: String?
            if rest.count >= 3, rest[0] == "namespaces" {
                namespace = rest[1]
                rest.removeFirst(2)
            }
            guard let kind = served.first(where: { $0.plural == rest[0] }), rest.count <= 2, kind.namespaced == (namespace != nil) else { return nil }
            let name = rest.count == 2 ? rest[1] : nil
            switch (request.method, name) {
            case ("GET", let name?): return get(kind, namespace, name)
            case ("PATCH", let name?): return apply(request, kind, namespace, name)
            case ("PUT", let name?): return replace(request, kind, namespace, name)
            case ("POST", nil): return post(request, kind, namespace)
            default:
                return KubernetesStatusReply.status(405, reason: "MethodNotAllowed", message: "the server does not allow this method on the requested resource")
            }
        }
    }

    private func discovery(_ groupVersion: String, _ served: [Kind]) -> HTTPLoopbackReply {
        let resources: [JSONValue] = served.map { kind in
            .object([
                "name": .string(kind.plural), "singularName": .string(kind.kind.lowercased()), "namespaced": .bool(kind.namespaced),
                "kind": .string(kind.kind), "verbs": .array(["create", "delete", "get", "list", "patch", "update", "watch"].map(JSONValue.string)),
            ])
        }
        return KubernetesStatusReply.json(
            200, .object(["kind": "APIResourceList", "apiVersion": "v1", "groupVersion": .string(groupVersion), "resources": .array(resources)]))
    }

    private func get(_ kind: Kind, _ namespace: String?, _ name: String) -> HTTPLoopbackReply {
        guard let stored = objects[Self.key(kind, namespace, name)] else { return notFound(kind, name) }
        return KubernetesStatusReply.json(200, settled(stored).object)
    }

    private func apply(_ request: HTTPLoopbackRequest, _ kind: Kind, _ namespace: String?, _ name: String) -> HTTPLoopbackReply {
        let type = (request.headers["content-type"] ?? "").split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        guard type == "application/apply-patch+yaml" else {
            return KubernetesStatusReply.status(
                415, reason: "UnsupportedMediaType",
                message: "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml")
        }
        guard let manager = request.queryValue("fieldManager"), !manager.isEmpty else {
            return KubernetesStatusReply.status(
                422, reason: "Invalid", message: "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch")
        }
        guard case .object(var applied) = Self.decode(request.body) else {
            return KubernetesStatusReply.status(400, reason: "BadRequest", message: "error decoding YAML: the body is not a YAML or JSON object")
        }
        if let refusal = identityRefusal(applied, kind, namespace, name) { return refusal }
        applied["status"] = nil
        let force = request.queryValue("force") == "true"
        let key = Self.key(kind, namespace, name)
        guard var stored = objects[key] else {
            if let missing = missingNamespace(kind, namespace) { return missing }
            if let invalid = validate(.object(applied), kind, name) { return invalid }
            let created = create(.object(applied), kind: kind, manager: manager, namespaceCheck: true)
            writes.append("APPLY \(kind.kind) \(namespace.map { "\($0)/" } ?? "")\(name)")
            return KubernetesStatusReply.json(201, created.object)
        }
        let config = Self.content(.object(applied))
        let paths = Self.leafPaths(config)
        var conflicts: [(String, String)] = []
        for (other, owned) in stored.owners where other != manager {
            for path in owned.intersection(paths).sorted() where Self.value(at: path, in: stored.object) != Self.value(at: path, in: config) {
                conflicts.append((other, path))
            }
        }
        if !conflicts.isEmpty && !force {
            let causes: [JSONValue] = conflicts.map { .object(["reason": "FieldManagerConflict", "message": .string("conflict with \"\($0.0)\""), "field": .string($0.1)]) }
            let list = conflicts.map { "conflict with \"\($0.0)\": \($0.1)" }.joined(separator: "\n- ")
            return KubernetesStatusReply.status(
                409, reason: "Conflict", message: "Apply failed with \(conflicts.count) conflict\(conflicts.count == 1 ? "" : "s"): \(list)",
                details: ["name": .string(name), "group": .string(kind.group), "kind": .string(kind.plural), "causes": .array(causes)])
        }
        var merged = stored.object
        // Fields this manager applied before and no longer does go, unless another manager owns them.
        let othersOwn = stored.owners.filter { $0.key != manager }.values.reduce(into: Set<String>()) { $0.formUnion($1) }
        for path in (stored.owners[manager] ?? []).subtracting(paths).subtracting(othersOwn) { Self.remove(path, from: &merged) }
        for path in paths { Self.set(path, Self.value(at: path, in: config), in: &merged) }
        if kind.kind == "Secret" { Self.foldStringData(&merged) }
        if let invalid = validate(merged, kind, name) { return invalid }
        // Forced: the conflicting fields move to this manager; fields applied with the same value stay shared.
        for (other, path) in conflicts { stored.owners[other]?.remove(path) }
        stored.owners[manager] = paths
        let changed = merged != stored.object
        if changed {
            if Self.content(merged)["spec"] != Self.content(stored.object)["spec"] { bumpGeneration(&merged) }
            bumpResourceVersion(&merged)
            stored.object = merged
            writes.append("APPLY \(kind.kind) \(namespace.map { "\($0)/" } ?? "")\(name)")
        }
        stored.object["metadata"]?["managedFields"] = Self.managedFields(stored.owners, apiVersion: kind.groupVersion)
        objects[key] = stored
        return KubernetesStatusReply.json(200, settled(stored).object)
    }

    private func post(_ request: HTTPLoopbackRequest, _ kind: Kind, _ namespace: String?) -> HTTPLoopbackReply {
        guard case .object(var body) = Self.decode(request.body), let name = body["metadata"]?["name"]?.stringValue, !name.isEmpty else {
            return KubernetesStatusReply.status(
                422, reason: "Invalid", message: "\(kind.kind) \"\" is invalid: metadata.name: Required value: name or generateName is required")
        }
        if let refusal = identityRefusal(body, kind, namespace, name) { return refusal }
        if objects[Self.key(kind, namespace, name)] != nil {
            return KubernetesStatusReply.status(
                409, reason: "AlreadyExists", message: "\(kind.qualified) \"\(name)\" already exists",
                details: ["name": .string(name), "group": .string(kind.group), "kind": .string(kind.plural)])
        }
        if let missing = missingNamespace(kind, namespace) { return missing }
        body["status"] = nil
        if let invalid = validate(.object(body), kind, name) { return invalid }
        let created = create(.object(body), kind: kind, manager: "clusterctl", namespaceCheck: true)
        writes.append("CREATE \(kind.kind) \(namespace.map { "\($0)/" } ?? "")\(name)")
        return KubernetesStatusReply.json(201, created.object)
    }

    private func replace(_ request: HTTPLoopbackRequest, _ kind: Kind, _ namespace: String?, _ name: String) -> HTTPLoopbackReply {
        let key = Self.key(kind, namespace, name)
        guard var stored = objects[key] else { return notFound(kind, name) }
        guard case .object(var body) = Self.decode(request.body) else {
            return KubernetesStatusReply.status(400, reason: "BadRequest", message: "the body is not a JSON object")
        }
        if let refusal = identityRefusal(body, kind, namespace, name) { return refusal }
        if let version = body["metadata"]?["resourceVersion"]?.stringValue, version != stored.object["metadata"]?["resourceVersion"]?.stringValue {
            return KubernetesStatusReply.status(
                409, reason: "Conflict",
                message: "Operation cannot be fulfilled on \(kind.qualified) \"\(name)\": the object has been modified; please apply your changes to the latest version and try again",
                details: ["name": .string(name), "group": .string(kind.group), "kind": .string(kind.plural)])
        }
        // The server keeps identity and status; everything else is the body's.
        for field in ["uid", "creationTimestamp", "generation", "resourceVersion", "managedFields"] {
            body["metadata"]?[field] = stored.object["metadata"]?[field]
        }
        body["status"] = stored.object["status"]
        var object = JSONValue.object(body)
        if kind.kind == "Secret" { Self.foldStringData(&object) }
        if let invalid = validate(object, kind, name) { return invalid }
        if object["spec"] != stored.object["spec"] { bumpGeneration(&object) }
        bumpResourceVersion(&object)
        stored.object = object
        objects[key] = stored
        writes.append("REPLACE \(kind.kind) \(namespace.map { "\($0)/" } ?? "")\(name)")
        return KubernetesStatusReply.json(200, stored.object)
    }

    // MARK: Kinds and state

    /// Built-ins and the kinds of established CRDs.
    private func kinds() -> [Kind] {
        var result = Self.builtins
        for stored in objects.values where stored.kind.kind == "CustomResourceDefinition" {
            let crd = settled(stored).object
            guard Self.established(crd), let group = crd.value(at: ["spec", "group"])?.stringValue,
                let kind = crd.value(at: ["spec", "names", "kind"])?.stringValue, let plural = crd.value(at: ["spec", "names", "plural"])?.stringValue
            else { continue }
            let namespaced = crd.value(at: ["spec", "scope"])?.stringValue == "Namespaced"
            for version in crd.value(at: ["spec", "versions"])?.arrayValue ?? [] where version["served"]?.boolValue == true {
                guard let name = version["name"]?.stringValue else { continue }
                result.append(Kind(group: group, version: name, kind: kind, plural: plural, namespaced: namespaced, schema: version.value(at: ["schema", "openAPIV3Schema"])))
            }
        }
        return result
    }

    static func established(_ crd: JSONValue) -> Bool {
        crd.value(at: ["status", "conditions"])?.arrayValue?.contains { $0["type"]?.stringValue == "Established" && $0["status"]?.stringValue == "True" } == true
    }

    /// The object with what time has done to it: a CRD's conditions.
    private func settled(_ stored: Stored) -> Stored {
        guard stored.kind.kind == "CustomResourceDefinition", let name = stored.object["metadata"]?["name"]?.stringValue,
            let created = crdCreated[name]
        else { return stored }
        var result = stored
        let established = now() >= created + establishDelay
        let time = KubernetesAPIModel.timestamp(created)
        result.object["status"] = .object([
            "acceptedNames": stored.object["spec"]?["names"] ?? .object([:]),
            "storedVersions": .array((stored.object.value(at: ["spec", "versions"])?.arrayValue ?? []).filter { $0["storage"]?.boolValue == true }.compactMap { $0["name"] }),
            "conditions": .array([
                .object(["type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "message": "no conflicts found", "lastTransitionTime": .string(time)]),
                .object([
                    "type": "Established", "status": .string(established ? "True" : "False"), "reason": .string(established ? "InitialNamesAccepted" : "Installing"),
                    "message": .string(established ? "the initial names have been accepted" : "the CRD is being established"), "lastTransitionTime": .string(time),
                ]),
            ]),
        ])
        return result
    }

    private func create(_ body: JSONValue, kind: Kind, manager: String, namespaceCheck: Bool) -> Stored {
        var object = body
        let name = object["metadata"]?["name"]?.stringValue ?? ""
        let namespace = kind.namespaced ? (object["metadata"]?["namespace"]?.stringValue ?? "default") : nil
        serial += 1
        object["metadata"]?["uid"] = .string(KubernetesAPIModel.uid(serial + 0x8000))
        object["metadata"]?["creationTimestamp"] = .string(KubernetesAPIModel.timestamp(now()))
        if object["spec"] != nil { object["metadata"]?["generation"] = .number(1) }
        if kind.kind == "Secret" {
            Self.foldStringData(&object)
            if object["type"] == nil { object["type"] = "Opaque" }
        }
        if kind.kind == "Namespace" { object["status"] = .object(["phase": "Active"]) }
        if kind.kind == "CustomResourceDefinition" { crdCreated[name] = now() }
        bumpResourceVersion(&object)
        let owners = [manager: Self.leafPaths(Self.content(body))]
        object["metadata"]?["managedFields"] = Self.managedFields(owners, apiVersion: kind.groupVersion)
        let stored = Stored(object: object, owners: owners, kind: kind)
        objects[Self.key(kind, namespace, name)] = stored
        return settled(stored)
    }

    private func bumpResourceVersion(_ object: inout JSONValue) {
        resourceVersion += 1
        object["metadata"]?["resourceVersion"] = .string(String(resourceVersion))
    }

    private func bumpGeneration(_ object: inout JSONValue) {
        guard object["spec"] != nil else { return }
        let generation = object.value(at: ["metadata", "generation"])?.intValue ?? 0
        object["metadata"]?["generation"] = .number(Double(generation + 1))
    }

    // MARK: Validation

    private func identityRefusal(_ body: [String: JSONValue], _ kind: Kind, _ namespace: String?, _ name: String) -> HTTPLoopbackReply? {
        if body["apiVersion"]?.stringValue != kind.groupVersion || body["kind"]?.stringValue != kind.kind {
            return KubernetesStatusReply.status(
                400, reason: "BadRequest",
                message: "the API version in the data (\(body["apiVersion"]?.stringValue ?? "")) does not match the expected API version (\(kind.groupVersion))")
        }
        if body["metadata"]?["name"]?.stringValue != name {
            return KubernetesStatusReply.status(400, reason: "BadRequest", message: "the name of the object (\(body["metadata"]?["name"]?.stringValue ?? "")) does not match the name on the URL (\(name))")
        }
        if let given = body["metadata"]?["namespace"]?.stringValue, given != namespace {
            return KubernetesStatusReply.status(400, reason: "BadRequest", message: "the namespace of the provided object does not match the namespace sent on the request")
        }
        return nil
    }

    private func missingNamespace(_ kind: Kind, _ namespace: String?) -> HTTPLoopbackReply? {
        guard let namespace, objects[Self.key(Self.builtins[0], nil, namespace)] == nil else { return nil }
        return KubernetesStatusReply.status(
            404, reason: "NotFound", message: "namespaces \"\(namespace)\" not found", details: ["name": .string(namespace), "kind": "namespaces"])
    }

    /// `required` fields and string `pattern`s of the CRD schema's `spec`, one level deep.
    private func validate(_ object: JSONValue, _ kind: Kind, _ name: String) -> HTTPLoopbackReply? {
        guard let spec = kind.schema?.value(at: ["properties", "spec"]) else { return nil }
        var causes: [(field: String, message: String)] = []
        for field in spec["required"]?.arrayValue?.compactMap(\.stringValue) ?? [] where object["spec"]?[field] == nil {
            causes.append(("spec.\(field)", "Required value"))
        }
        for (field, schema) in spec["properties"]?.objectValue ?? [:] {
            guard let pattern = schema["pattern"]?.stringValue, let value = object["spec"]?[field]?.stringValue else { continue }
            if value.range(of: pattern, options: .regularExpression) == nil {
                causes.append(("spec.\(field)", "Invalid value: \"\(value)\": spec.\(field) in body should match '\(pattern)'"))
            }
        }
        guard !causes.isEmpty else { return nil }
        let text = causes.map { "\($0.field): \($0.message)" }.joined(separator: ", ")
        return KubernetesStatusReply.status(
            422, reason: "Invalid", message: "\(kind.kind).\(kind.group) \"\(name)\" is invalid: \(causes.count == 1 ? text : "[\(text)]")",
            details: [
                "name": .string(name), "group": .string(kind.group), "kind": .string(kind.kind),
                "causes": .array(causes.map { .object(["reason": "FieldValueInvalid", "message": .string($0.message), "field": .string($0.field)]) }),
            ])
    }

    private func notFound(_ kind: Kind, _ name: String) -> HTTPLoopbackReply {
        KubernetesStatusReply.status(
            404, reason: "NotFound", message: "\(kind.qualified) \"\(name)\" not found",
            details: ["name": .string(name), "group": .string(kind.group), "kind": .string(kind.plural)])
    }

    // MARK: Field paths

    static func key(_ kind: Kind, _ namespace: String?, _ name: String) -> String { "\(kind.qualified)/\(namespace ?? "")/\(name)" }

    static func decode(_ body: [UInt8]) -> JSONValue? {
        if let json = try? JSONValue.parse(Data(body)) { return json }
        return (try? YAMLTree.parse(String(decoding: body, as: UTF8.self))).map(JSONValue.init(yaml:))
    }

    /// What a manager can own: everything but the identity and server-set fields.
    static func content(_ object: JSONValue) -> JSONValue {
        var result = object
        result["status"] = nil
        for field in ["name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp", "managedFields"] { result["metadata"]?[field] = nil }
        return result
    }

    /// Leaf paths of objects: `.spec.ref.branch`; arrays and scalars are leaves, empty objects own nothing.
    static func leafPaths(_ value: JSONValue, prefix: String = "") -> Set<String> {
        guard case .object(let members) = value else { return prefix.isEmpty ? [] : [prefix] }
        var result = Set<String>()
        for (key, member) in members where !(prefix.isEmpty && (key == "apiVersion" || key == "kind")) {
            result.formUnion(leafPaths(member, prefix: "\(prefix).\(key)"))
        }
        return result
    }

    static func value(at path: String, in object: JSONValue) -> JSONValue? {
        object.value(at: path.split(separator: ".").map(String.init))
    }

    static func set(_ path: String, _ value: JSONValue?, in object: inout JSONValue) {
        func assign(_ keys: ArraySlice<String>, _ node: inout JSONValue) {
            guard let key = keys.first else { return }
            if keys.count == 1 {
                node[key] = value
                return
            }
            var child = node[key] ?? .object([:])
            if child.objectValue == nil { child = .object([:]) }
            assign(keys.dropFirst(), &child)
            node[key] = child
        }
        assign(ArraySlice(path.split(separator: ".").map(String.init)), &object)
    }

    static func remove(_ path: String, from object: inout JSONValue) { set(path, nil, in: &object) }

    /// A Secret's `stringData` written into `data` as base64; `stringData` itself is never stored.
    static func foldStringData(_ object: inout JSONValue) {
        guard let strings = object["stringData"]?.objectValue else { return }
        var data = object["data"]?.objectValue ?? [:]
        for (key, value) in strings { data[key] = .string(Data((value.stringValue ?? "").utf8).base64EncodedString()) }
        object["data"] = .object(data)
        object["stringData"] = nil
    }

    /// `metadata.managedFields` in the FieldsV1 shape (`f:spec: {f:path: {}}`).
    static func managedFields(_ owners: [String: Set<String>], apiVersion: String) -> JSONValue {
        .array(owners.keys.sorted().compactMap { manager in
            guard let paths = owners[manager], !paths.isEmpty else { return nil }
            var fields = JSONValue.object([:])
            for path in paths { set(path.split(separator: ".").map { "f:\($0)" }.joined(separator: "."), .object([:]), in: &fields) }
            return .object(["manager": .string(manager), "operation": "Apply", "apiVersion": .string(apiVersion), "fieldsType": "FieldsV1", "fieldsV1": fields])
        })
    }
}

/// JSON replies in the API server's shape, shared by the object store and the controller models.
enum KubernetesStatusReply {
    static func json(_ code: Int, _ value: JSONValue) -> HTTPLoopbackReply {
        let body = (try? value.jsonData()) ?? Data()
        return .response(status: code, headers: ["Content-Type": "application/json", "Audit-Id": UUID().uuidString.lowercased()], body: Array(body))
    }

    /// A meta/v1 Status with `status: Failure`.
    static func status(_ code: Int, reason: String, message: String, details: [String: JSONValue]? = nil) -> HTTPLoopbackReply {
        var object: [String: JSONValue] = [
            "kind": "Status", "apiVersion": "v1", "metadata": .object([:]), "status": "Failure", "message": .string(message), "reason": .string(reason),
            "code": .number(Double(code)),
        ]
        if let details { object["details"] = .object(details) }
        return json(code, .object(object))
    }
}
