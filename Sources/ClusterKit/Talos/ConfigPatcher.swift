/// Applies spec patches to a node's config documents, with Talos's semantics
/// (siderolabs/talos `pkg/machinery/config/configpatcher`, docs "Configuration Patches"):
///
/// - Strategic merge, for both contracts: each patch document is merged into the document with the
///   same `apiVersion`, `kind` and `name`; a patch document without `kind` targets the `v1alpha1`
///   document; a patch document matching none is added. Mappings merge key by key, lists are
///   appended to, scalars replaced; `$patch: delete` removes a key or a whole document. Lists
///   whose Talos field is tagged `merge:"replace"` are replaced instead: the pod and service
///   subnets (`ClusterNetworkConfig` in `v1alpha1_types.go`, `KubeNetworkConfigV1Alpha1`).
/// - RFC 6902 JSON patches, for the classic contract only, against the `v1alpha1` document. Talos
///   refuses them on multi-document configs, and so does this.
///
/// Every failure is a ``ClusterError`` naming the patch's origin and the node.
enum ConfigPatcher {
    /// List fields Talos replaces on merge, by document kind ("" for v1alpha1) and key path.
    static let replacedLists: Set<[String]> = [
        ["", "cluster", "network", "podSubnets"], ["", "cluster", "network", "serviceSubnets"],
        ["KubeNetworkConfig", "podSubnets"], ["KubeNetworkConfig", "serviceSubnets"],
    ]

    static func apply(_ patch: ConfigPatch, to documents: [YAMLTree], contract: ConfigContract, node: String) throws(ClusterError) -> [YAMLTree] {
        let result = try applyUnguarded(patch, to: documents, contract: contract, node: node)
        // The same guard `validate` runs on the spec's text, here on the result, so a spec built
        // in code (or a patch the text check could not see through) cannot change what
        // clusterctl owns either.
        for field in PatchGuard.ownedFields where ownedValue(field, in: documents) != ownedValue(field, in: result) {
            throw ClusterError(
                .invalidSpec, "patch \(patch.origin) for node \(node): patches may not change \(field.what) (\(field.kind == "v1alpha1" ? "" : "\(field.kind) ")\(field.path.joined(separator: ".")))",
                hint: field.hint)
        }
        return result
    }

    private static func ownedValue(_ field: PatchGuard.OwnedField, in documents: [YAMLTree]) -> YAMLTree? {
        let document = field.kind == "v1alpha1" ? documents.first { $0["kind"] == nil } : documents.first { $0["kind"]?.stringValue == field.kind }
        return document?.value(at: field.path)
    }

    private static func applyUnguarded(_ patch: ConfigPatch, to documents: [YAMLTree], contract: ConfigContract, node: String) throws(ClusterError) -> [YAMLTree] {
        func failure(_ message: String) -> ClusterError {
            ClusterError(.invalidSpec, "patch \(patch.origin) for node \(node): \(message)")
        }
        let parsed: [YAMLTree]
        do {
            parsed = try YAMLTree.parseDocuments(patch.yaml)
        } catch {
            throw failure("is not valid YAML (\(error.message))")
        }
        switch patch.kind {
        case .strategicMerge:
            var result = documents
            for patchDocument in parsed where patchDocument != .null {
                guard case .mapping = patchDocument else { throw failure("a strategic-merge patch document must be a mapping") }
                result = try mergeDocument(patchDocument, into: result, failure: failure)
            }
            return result
        case .jsonPatch:
            guard contract == .classic else {
                throw ClusterError(.invalidSpec,
                    "patch \(patch.origin) for node \(node): JSON patches (RFC 6902) are not supported for multi-document machine configs (Talos 1.14 and later refuse them)",
                    hint: "rewrite it as a strategic-merge patch")
            }
            guard parsed.count == 1, case .sequence(let operations) = parsed[0] else {
                throw failure("a JSON patch must be one list of operations")
            }
            guard var root = documents.first else { throw failure("the config has no v1alpha1 document") }
            for (index, operation) in operations.enumerated() {
                do {
                    try JSONPatch.apply(operation, to: &root)
                } catch {
                    throw failure("operation \(index + 1): \(error.reason)")
                }
            }
            return [root] + documents.dropFirst()
        }
    }

    private static func identity(_ document: YAMLTree) -> (kind: String?, apiVersion: String?, name: String?) {
        (document["kind"]?.stringValue, document["apiVersion"]?.stringValue, document["name"]?.stringValue)
    }

    private static func isDeleteDirective(_ value: YAMLTree) -> Bool {
        value["$patch"]?.stringValue == "delete"
    }

    private static func mergeDocument(
        _ patch: YAMLTree, into documents: [YAMLTree], failure: (String) -> ClusterError
    ) throws(ClusterError) -> [YAMLTree] {
        var documents = documents
        let wanted = identity(patch)
        let index: Int?
        if let kind = wanted.kind {
            index = documents.firstIndex { document in
                let have = identity(document)
                return have.kind == kind && (wanted.apiVersion == nil || have.apiVersion == wanted.apiVersion) && have.name == wanted.name
            }
        } else {
            index = documents.firstIndex { $0["kind"] == nil }
        }
        if isDeleteDirective(patch) {
            guard let index else {
                throw failure("deletes document \(wanted.kind ?? "v1alpha1")\(wanted.name.map { " \($0)" } ?? ""), which the config does not have")
            }
            documents.remove(at: index)
            return documents
        }
        let root = [wanted.kind ?? ""]
        guard let index else {
            documents.append(try merge(patch, into: .mapping([]), path: root, failure: failure))
            return documents
        }
        documents[index] = try merge(patch, into: documents[index], path: root, failure: failure)
        return documents
    }

    private static func merge(
        _ patch: YAMLTree, into target: YAMLTree, path: [String], failure: (String) -> ClusterError
    ) throws(ClusterError) -> YAMLTree {
        switch (patch, target) {
        case (.mapping(let patchEntries), .mapping):
            var result = target
            for entry in patchEntries where entry.key != "$patch" {
                let childPath = path + [entry.key]
                if isDeleteDirective(entry.value) {
                    guard result.remove(entry.key) else {
                        throw failure("deletes \(childPath.dropFirst().joined(separator: ".")), which the config does not have")
                    }
                    continue
                }
                if let existing = result[entry.key] {
                    result.set(entry.key, try merge(entry.value, into: existing, path: childPath, failure: failure))
                } else {
                    result.set(entry.key, try merge(entry.value, into: .mapping([]), path: childPath, failure: failure))
                }
            }
            return result
        case (.sequence(let patchItems), .sequence(let targetItems)):
            return replacedLists.contains(path) ? patch : .sequence(targetItems + patchItems)
        default:
            return patch
        }
    }
}
