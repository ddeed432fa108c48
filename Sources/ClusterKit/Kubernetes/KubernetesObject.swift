/// One Kubernetes object of any kind, as a JSON tree with typed access to the parts every kind
/// shares (`apiVersion`, `kind`, `metadata`, `status.conditions`).
public struct KubernetesObject: Sendable, Hashable {
    public var json: JSONValue

    public init(json: JSONValue) { self.json = json }

    public var apiVersion: String { json["apiVersion"]?.stringValue ?? "" }
    public var kind: String { json["kind"]?.stringValue ?? "" }
    public var name: String { json.value(at: ["metadata", "name"])?.stringValue ?? "" }
    /// nil for cluster-scoped objects.
    public var namespace: String? { json.value(at: ["metadata", "namespace"])?.stringValue }
    public var generation: Int? { json.value(at: ["metadata", "generation"])?.intValue }
    public var resourceVersion: String? { json.value(at: ["metadata", "resourceVersion"])?.stringValue }

    /// What names this object: its kind, namespace and name.
    public var reference: KubernetesObjectReference {
        KubernetesObjectReference(apiVersion: apiVersion, kind: kind, namespace: namespace, name: name)
    }

    /// A condition of `status.conditions` (meta/v1 `Condition`) by type.
    public func condition(_ type: String) -> KubernetesCondition? {
        json.value(at: ["status", "conditions"])?.arrayValue?.lazy.compactMap { item -> KubernetesCondition? in
            guard item["type"]?.stringValue == type else { return nil }
            return KubernetesCondition(
                type: type, status: item["status"]?.stringValue ?? "Unknown", reason: item["reason"]?.stringValue,
                message: item["message"]?.stringValue, observedGeneration: item["observedGeneration"]?.intValue)
        }.first
    }

    /// Every document of a YAML stream that holds an object (a `kind`), in order.
    public static func documents(yaml: String) throws(ClusterError) -> [KubernetesObject] {
        try YAMLTree.parseDocuments(yaml).compactMap { document in
            let json = JSONValue(yaml: document)
            return json["kind"]?.stringValue == nil ? nil : KubernetesObject(json: json)
        }
    }
}

/// Names one object: `apiVersion` and `kind` select the API, `namespace` (nil when cluster-scoped) and `name` the object.
public struct KubernetesObjectReference: Sendable, Hashable, CustomStringConvertible {
    public var apiVersion: String
    public var kind: String
    public var namespace: String?
    public var name: String

    public init(apiVersion: String, kind: String, namespace: String? = nil, name: String) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.namespace = namespace
        self.name = name
    }

    /// `Kind namespace/name` or `Kind name`, as kubectl and Flux print objects.
    public var description: String { "\(kind) \(namespace.map { "\($0)/" } ?? "")\(name)" }
}

/// A meta/v1 `Condition` of an object's status.
public struct KubernetesCondition: Sendable, Hashable {
    public var type: String
    /// `True`, `False` or `Unknown`.
    public var status: String
    public var reason: String?
    public var message: String?
    public var observedGeneration: Int?
}
