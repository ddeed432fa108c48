internal import Foundation
internal import Yams

/// Checks what spec patches touch, field by field, before any config is rendered:
///
/// - Fields clusterctl owns are refused: the Talos secrets (CAs, keys, tokens, encryption
///   secrets, cluster id and secret), the cluster name and control-plane endpoint, and a node's
///   machine type. Secrets live in the secrets bundle (`clusterctl secrets import` brings existing
///   ones); name, endpoint and role come from the spec itself.
/// - Fields the Talos schema for the spec's version does not have are refused, with a "did you
///   mean" among the fields that exist there (``TalosSchema``).
///
/// Field locations follow the official schemas and example configs in ../shared/reference/talos:
/// the classic `v1alpha1` document of Talos 1.13 (`examples/v1.13-base-controlplane.yaml`), and the
/// slim `v1alpha1` document plus separate documents of 1.14+ (`examples/v1.14-base-controlplane.yaml`).
struct PatchGuard {
    /// A field clusterctl owns, by document kind and path; everything below it is owned too.
    struct OwnedField {
        var kind: String
        var path: [String]
        var what: String
        var hint: String
    }

    static let secretHint = "Talos secrets are generated once and kept in the cluster's secrets bundle; remove this, and use `clusterctl secrets import` to bring existing secrets"

    static let ownedFields: [OwnedField] = {
        func secret(_ kind: String, _ path: String, _ what: String) -> OwnedField {
            OwnedField(kind: kind, path: path.split(separator: ".").map(String.init), what: what, hint: secretHint)
        }
        let name = "the cluster name comes from `name:` in the spec"
        let endpoint = "the API endpoint comes from `endpoint:` in the spec"
        return [
            secret("v1alpha1", "machine.ca", "the machine (Talos API) CA"),
            secret("v1alpha1", "machine.token", "the machine (trustd) token"),
            OwnedField(kind: "v1alpha1", path: ["machine", "type"], what: "the node's machine type", hint: "a node's role comes from its pool's `role:`; move the node to a pool of the other role"),
            secret("v1alpha1", "cluster.ca", "the Kubernetes CA"),
            secret("v1alpha1", "cluster.aggregatorCA", "the aggregator CA"),
            secret("v1alpha1", "cluster.serviceAccount", "the service-account key"),
            secret("v1alpha1", "cluster.etcd.ca", "the etcd CA"),
            secret("v1alpha1", "cluster.secretboxEncryptionSecret", "the secretbox encryption secret"),
            secret("v1alpha1", "cluster.aescbcEncryptionSecret", "the AES-CBC encryption secret"),
            secret("v1alpha1", "cluster.token", "the bootstrap token"),
            secret("v1alpha1", "cluster.id", "the cluster id"),
            secret("v1alpha1", "cluster.secret", "the cluster secret"),
            OwnedField(kind: "v1alpha1", path: ["cluster", "clusterName"], what: "the cluster name", hint: name),
            OwnedField(kind: "v1alpha1", path: ["cluster", "controlPlane", "endpoint"], what: "the control-plane endpoint", hint: endpoint),
            OwnedField(kind: "KubeClusterConfig", path: ["clusterName"], what: "the cluster name", hint: name),
            OwnedField(kind: "KubeClusterConfig", path: ["endpoint"], what: "the control-plane endpoint", hint: endpoint),
            secret("DiscoveryIdentityConfig", "clusterID", "the cluster id"),
            secret("DiscoveryIdentityConfig", "clusterSecret", "the cluster secret"),
            secret("KubeAPIServerCAConfig", "issuingCA", "the Kubernetes CA"),
            secret("KubeAggregatorCAConfig", "issuingCA", "the aggregator CA"),
            secret("KubeServiceAccountConfig", "issuer.privateKey", "the service-account key"),
            secret("KubeEtcdEncryptionConfig", "config", "the etcd encryption configuration and its keys"),
        ]
    }()

    /// Document kinds that hold only owned fields, so a patch may not delete them either.
    static let ownedDocuments: Set<String> = ["DiscoveryIdentityConfig", "KubeAPIServerCAConfig", "KubeAggregatorCAConfig", "KubeServiceAccountConfig", "KubeClusterConfig", "KubeEtcdEncryptionConfig", "v1alpha1"]

    let walker: YAMLWalker
    /// The config contract of the spec's Talos version; nil when the version did not decode
    /// (owned fields are still checked, for both contracts).
    let contract: ConfigContract?
    /// `Talos v1.13.9`, for messages.
    let talosLabel: String

    var schema: TalosSchema? { contract.map(TalosSchema.forContract) }

    // MARK: - Reporting

    /// Where a patch's problems are reported: at the field in the spec for inline patches, at the
    /// `file:` reference (with the file's own line and column) for patch files.
    struct Place {
        let source: PatchSource
        let partPath: String
        /// Leading path components not shown (a JSON patch value's own path is its pointer).
        var hidden = 0

        func fieldPath(_ components: [String]) -> String {
            var path = partPath
            for component in components.dropFirst(hidden) {
                path = component.hasPrefix("[") ? path + component : YAMLWalker.join(path, component)
            }
            return path
        }
    }

    func report(_ place: Place, _ node: Node, _ components: [String], _ message: String, hint: String?) {
        let path = place.fieldPath(components)
        if let file = place.source.file {
            let position = node.mark.map { ":\($0.line):\($0.column)" } ?? ""
            let field = path.isEmpty ? "" : "\(path): "
            walker.report(.error, mark: file.reference.mark, file.referencePath, "\(file.name)\(position): \(field)\(message)", hint: hint)
        } else {
            walker.report(.error, mark: node.mark, path, message, hint: hint)
        }
    }

    // MARK: - Checking

    func check(_ source: PatchSource) {
        for part in source.parts {
            let place = Place(source: source, partPath: part.path)
            switch source.kind {
            case .strategicMerge: checkDocument(part.node, place)
            case .jsonPatch: checkOperation(part.node, place)
            }
        }
    }

    func owned(_ kind: String, _ path: [String]) -> OwnedField? {
        PatchGuard.ownedFields.first { $0.kind == kind && path.starts(with: $0.path) }
    }

    /// Owned fields strictly below `path`: replacing or deleting `path` would take them along.
    func ownedBelow(_ kind: String, _ path: [String]) -> [OwnedField] {
        PatchGuard.ownedFields.filter { $0.kind == kind && $0.path.count > path.count && $0.path.starts(with: path) }
    }

    func refuseOwned(_ field: OwnedField, _ place: Place, _ node: Node, _ components: [String]) {
        report(place, node, components, "patches may not set \(field.what) (\(field.kind == "v1alpha1" ? "" : "\(field.kind) ")\(field.path.joined(separator: ".")))", hint: field.hint)
    }

    func refuseTakingAlong(_ fields: [OwnedField], verb: String, target: [String], _ place: Place, _ node: Node, _ components: [String]) {
        let names = fields.map(\.what).prefix(3).joined(separator: ", ")
        let shown = target.filter { !$0.hasPrefix("[") }.joined(separator: ".")
        report(place, node, components, "this \(verb) \(shown.isEmpty ? "the whole document" : shown), which holds \(names)\(fields.count > 3 ? " and more" : "")",
            hint: "patch the fields inside it instead; clusterctl owns the secrets, name and endpoint there")
    }

    func checkDocument(_ document: Node, _ place: Place) {
        guard let mapping = document.mapping else { return }
        let kindNode = mapping["kind"]
        let kind = kindNode?.scalar?.string ?? "v1alpha1"
        if mapping["$patch"]?.scalar?.string == "delete", PatchGuard.ownedDocuments.contains(kind) {
            report(place, mapping["$patch"] ?? document, ["$patch"], "patches may not delete the \(kind) document; clusterctl writes it from the spec and the secrets bundle", hint: PatchGuard.secretHint)
            return
        }
        var root: TalosSchema.Field?
        if let contract, let schema {
            guard let field = schema.documents[kind] else {
                let other: ConfigContract = contract == .classic ? .multiDocument : .classic
                let hint = TalosSchema.forContract(other).documents[kind] != nil
                    ? "\(kind) belongs to the other config contract (Talos \(other == .multiDocument ? "1.14 and later" : "1.13 and earlier")); \(talosLabel) does not read it"
                    : EditDistance.hint(for: kind, among: schema.kinds, noun: "document kinds")
                report(place, kindNode ?? document, ["kind"], "\(talosLabel) has no config document of kind \(kind)", hint: hint)
                return
            }
            root = field
        }
        walk(document, field: root, kind: kind, components: [], place)
    }

    func walk(_ node: Node, field: TalosSchema.Field?, kind: String, components: [String], _ place: Place) {
        switch node {
        case .mapping(let mapping):
            for (keyNode, value) in mapping {
                guard let key = keyNode.scalar?.string else { continue }
                if key == "$patch" {
                    let below = ownedBelow(kind, components)
                    if value.scalar?.string == "delete", !below.isEmpty { refuseTakingAlong(below, verb: "deletes", target: components, place, keyNode, components) }
                    continue
                }
                let path = components + [key]
                if let owned = owned(kind, path.filter { !$0.hasPrefix("[") }) {
                    refuseOwned(owned, place, keyNode, path)
                    continue
                }
                if value.mapping == nil, value.sequence == nil {
                    let below = ownedBelow(kind, path)
                    if !below.isEmpty {
                        refuseTakingAlong(below, verb: "replaces", target: path, place, keyNode, path)
                        continue
                    }
                }
                var child: TalosSchema.Field?
                if let field {
                    guard let found = field.child(key) else {
                        reportUnknown(key, in: field, kind: kind, place, keyNode, path)
                        continue
                    }
                    if let problem = PatchGuard.shapeProblem(value, for: found) {
                        report(place, value, path, "\(path.filter { !$0.hasPrefix("[") }.joined(separator: ".")) \(problem) in the \(talosLabel) schema", hint: "write it as the Talos configuration reference shows")
                        continue
                    }
                    child = found
                }
                walk(value, field: child, kind: kind, components: path, place)
            }
        case .sequence(let sequence):
            let item = field.flatMap { $0.isOpen ? $0 : $0.item }
            for (offset, element) in sequence.enumerated() {
                walk(element, field: item, kind: kind, components: components + ["[\(offset)]"], place)
            }
        default:
            break
        }
    }

    /// What is wrong with the shape of `value` for `field`, nil when it fits: a list or mapping
    /// where the schema has a single value, a mapping where it has a list, or a single value
    /// where it has a mapping. Null is always allowed (strategic merge leaves the field as is).
    static func shapeProblem(_ value: Node, for field: TalosSchema.Field) -> String? {
        if field.isOpen { return nil }
        let isMapping = !field.children.isEmpty || field.anyKey != nil
        let isList = field.item != nil
        switch value {
        case .mapping:
            if value.mapping?["$patch"] != nil { return nil }
            if !isMapping { return isList ? "is a list, not a mapping," : "is a single value, not a mapping," }
        case .sequence:
            if !isList { return isMapping ? "is a mapping, not a list," : "is a single value, not a list," }
        case .scalar(let scalar):
            let isNull = scalar.style == .plain && ["", "~", "null", "Null", "NULL"].contains(scalar.string)
            if isMapping, !isList, !isNull { return "is a mapping, not a single value," }
        case .alias:
            break
        }
        return nil
    }

    func reportUnknown(_ key: String, in field: TalosSchema.Field, kind: String, _ place: Place, _ node: Node, _ path: [String]) {
        let document = kind == "v1alpha1" ? "v1alpha1 document" : "\(kind) document"
        var hint = EditDistance.hint(for: key, among: field.children.keys.sorted(), noun: "fields here")
        if kind == "v1alpha1", contract == .multiDocument,
            TalosSchema.classic.documents["v1alpha1"].map({ resolve(path, from: $0) != nil }) == true
        {
            hint = "Talos 1.14 moved this out of the v1alpha1 document into its own documents (kind: KubeletConfig, UnattendedInstall, ...); see config.v1.14plus.schema.json"
        }
        report(place, node, path, "\(path.filter { !$0.hasPrefix("[") }.joined(separator: ".")) is not a field of the \(talosLabel) \(document)", hint: hint)
    }

    /// The schema field a path leads to, nil when there is none.
    func resolve(_ path: [String], from root: TalosSchema.Field) -> TalosSchema.Field? {
        var field = root
        for component in path {
            if component.hasPrefix("[") {
                guard let item = field.isOpen ? field : field.item else { return nil }
                field = item
            } else {
                guard let child = field.child(component) else { return nil }
                field = child
            }
        }
        return field
    }

    // MARK: - JSON patches

    /// RFC 6901 JSON pointer to path components; `~1` is `/` and `~0` is `~`, array indexes and
    /// `-` become list items.
    static func components(ofPointer pointer: String) -> [String]? {
        guard pointer.hasPrefix("/") else { return nil }
        return pointer.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map { raw in
            let token = String(raw).replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            if token == "-" || (!token.isEmpty && token.allSatisfy(\.isASCII) && token.allSatisfy(\.isNumber)) { return "[\(token)]" }
            return token
        }
    }

    func checkOperation(_ operation: Node, _ place: Place) {
        guard let mapping = operation.mapping, let op = mapping["op"]?.scalar?.string, let pathNode = mapping["path"],
            let pointer = pathNode.scalar?.string, let path = PatchGuard.components(ofPointer: pointer)
        else { return }
        // JSON patches apply to the v1alpha1 document (Talos docs, "Configuration Patches").
        let kind = "v1alpha1"
        let named = path.filter { !$0.hasPrefix("[") }
        let writes = ["add", "replace", "remove", "move", "copy"].contains(op)
        if writes, let owned = owned(kind, named) {
            refuseOwned(owned, place, pathNode, ["path"])
            return
        }
        // RFC 6902 section 4.1: `add` on an existing member replaces it, like `replace`, `move` and
        // `copy` do; so any write at an ancestor of an owned field would take that field along.
        let below = ownedBelow(kind, named)
        if writes, !below.isEmpty {
            refuseTakingAlong(below, verb: op == "remove" ? "removes" : "replaces", target: named, place, pathNode, ["path"])
            return
        }
        // `move` takes an owned value away; `copy` would put a secret where it does not belong
        // (a CA key copied into a node label is readable by anyone with API access).
        if op == "move" || op == "copy", let fromNode = mapping["from"], let fromText = fromNode.scalar?.string,
            let from = PatchGuard.components(ofPointer: fromText)
        {
            let fromNamed = from.filter { !$0.hasPrefix("[") }
            let taken = owned(kind, fromNamed).map { [$0] } ?? ownedBelow(kind, fromNamed)
            if !taken.isEmpty {
                let names = taken.map(\.what).prefix(3).joined(separator: ", ")
                report(place, fromNode, ["from"], "patches may not \(op) \(names)\(taken.count > 3 ? " and more" : "") (\(fromText)) elsewhere", hint: taken[0].hint)
                return
            }
        }
        var field: TalosSchema.Field?
        if let root = schema?.documents[kind] {
            var current = root
            for (offset, component) in path.enumerated() {
                let next = component.hasPrefix("[") ? (current.isOpen ? current : current.item) : current.child(component)
                guard let next else {
                    let prefix = Array(path.prefix(offset + 1))
                    var hint = component.hasPrefix("[")
                        ? "\(named.prefix(offset).joined(separator: ".")) is not a list"
                        : EditDistance.hint(for: component, among: current.children.keys.sorted(), noun: "fields here")
                    if hint.isEmpty { hint = "see the Talos configuration reference for \(talosLabel)" }
                    report(place, pathNode, ["path"], "\(pointer) does not exist in the \(talosLabel) v1alpha1 document (\(prefix.filter { !$0.hasPrefix("[") }.joined(separator: ".")))", hint: hint)
                    return
                }
                current = next
            }
            field = current
        }
        if ["add", "replace", "test"].contains(op), let value = mapping["value"] {
            walk(value, field: field, kind: kind, components: path, Place(source: place.source, partPath: YAMLWalker.join(place.partPath, "value"), hidden: path.count))
        }
    }
}
