internal import Foundation

/// What `gen config` would refuse, found by `validate`: every node's machine config is rendered
/// in memory, as `gen config` renders it (base layout, then cluster, pool and node patches, then
/// the structural check), with stand-in secrets and addresses, and each refusal is reported at
/// the spec field it comes from. Nothing is written, and no secrets bundle is read or made.
///
/// On top of the renderer's own checks, the rendered worker configs are read for what the API
/// server would refuse from a kubelet (see ``NodeRestriction``): labels a
/// node may not set, and taints kept by Talos after registration, both of which patches can add.
struct SpecRenderCheck {
    let spec: ClusterSpec
    let draft: SpecDraft
    let walker: YAMLWalker

    /// TEST-NET addresses (RFC 5737) standing in for node and floating-IP addresses.
    static let placeholderFloatingIP = "203.0.113.1"

    func run() {
        let renderer = MachineConfigRenderer(spec: spec, secrets: .placeholder, floatingIPAddress: Self.placeholderFloatingIP)
        var reported: Set<String> = []
        var ordinal = 0
        for (index, pool) in draft.pools {
            let provider = spec.provider(named: pool.provider)
            for number in 0..<pool.count {
                ordinal += 1
                let name = NodeIdentity.nodeName(cluster: spec.name, pool: pool.name, index: number + 1)
                let node = NodeDescription(
                    name: name, role: pool.role, pool: pool.name, addresses: ["192.0.2.\(ordinal % 250 + 1)"],
                    installImage: ImageFactory.installerImage(
                        platform: provider?.imageFactoryPlatform ?? "metal", schematicID: spec.talos.schematicID, talosVersion: spec.talos.version))
                let patches = patchPlaces(poolIndex: index, pool: pool, node: name)
                do {
                    let config = try renderer.render(node)
                    if pool.role == .worker { checkKubeletWrites(config, node: name, patches: patches, reported: &reported) }
                } catch {
                    // Without the patches: a failure there is the spec's own, which the
                    // validator reports where it belongs (only a new kind of failure is shown).
                    if (try? rendered(node, keeping: [], of: patches).render(node)) == nil {
                        if !walker.hasErrors { report(error, at: "talos.version", reported: &reported) }
                        continue
                    }
                    // Each patch alone, so one pass names every refused patch; a refusal only
                    // in combination goes to the first patch after which rendering fails.
                    let alone = patches.indices.compactMap { offset -> (String, ClusterError)? in
                        let alone = Result { () throws(ClusterError) in try rendered(node, keeping: [offset], of: patches).render(node) }
                        guard case .failure(let refusal) = alone else { return nil }
                        return (patches[offset].path, refusal)
                    }
                    let blamed = alone.isEmpty ? [(firstRefused(node, patches: patches) ?? "talos.version", error)] : alone
                    for (path, refusal) in blamed { report(refusal, at: path, reported: &reported) }
                }
            }
        }
    }

    func report(_ error: ClusterError, at path: String, reported: inout Set<String>) {
        guard !alreadyReported(at: path), reported.insert(path).inserted else { return }
        walker.error(at: path, "gen config would refuse this: \(error.message)",
            hint: error.hint ?? "see `clusterctl gen config \(spec.name)` for the rendered documents")
    }

    /// A renderer for the spec with only the node's patches at `offsets` (of `patches`, the
    /// node's cluster, pool and node patches in order).
    func rendered(_ node: NodeDescription, keeping offsets: Set<Int>, of patches: [(patch: ConfigPatch, path: String)]) -> MachineConfigRenderer {
        var copy = spec
        guard let position = spec.pools.firstIndex(where: { $0.name == node.pool }) else {
            return MachineConfigRenderer(spec: copy, secrets: .placeholder, floatingIPAddress: Self.placeholderFloatingIP)
        }
        let clusterCount = spec.talos.patches.count
        let poolCount = spec.pools[position].patches.count
        let nodePatches = spec.pools[position].nodePatches[node.name] ?? []
        copy.talos.patches = spec.talos.patches.enumerated().filter { offsets.contains($0.offset) }.map(\.element)
        copy.pools[position].patches = spec.pools[position].patches.enumerated().filter { offsets.contains(clusterCount + $0.offset) }.map(\.element)
        copy.pools[position].nodePatches[node.name] = nodePatches.enumerated().filter { offsets.contains(clusterCount + poolCount + $0.offset) }.map(\.element)
        return MachineConfigRenderer(spec: copy, secrets: .placeholder, floatingIPAddress: Self.placeholderFloatingIP)
    }

    /// Whether the validator already reported an error at `path` or a field containing it (a
    /// JSON patch on Talos 1.14, say), so the render check does not say it twice.
    /// An error at the path, around it, or inside it (a field of the patch the input checks
    /// refused already) says it first and better: rendering would only repeat it.
    func alreadyReported(at path: String) -> Bool {
        walker.diagnostics.contains { diagnostic in
            guard diagnostic.severity == .error, !diagnostic.path.isEmpty else { return false }
            let other = diagnostic.path
            return path == other || path.hasPrefix(other + "[") || path.hasPrefix(other + ".") || other.hasPrefix(path + "[") || other.hasPrefix(path + ".")
        }
    }

    /// The patches a node gets, in order, each with its field path in the spec.
    func patchPlaces(poolIndex: Int, pool: PoolSpec, node: String) -> [(patch: ConfigPatch, path: String)] {
        var places = spec.talos.patches.enumerated().map { ($0.element, "talos.patches[\($0.offset)]") }
        places += pool.patches.enumerated().map { ($0.element, "pools[\(poolIndex)].patches[\($0.offset)]") }
        places += (pool.nodePatches[node] ?? []).enumerated().map { ($0.element, "pools[\(poolIndex)].nodePatches.\(node)[\($0.offset)]") }
        return places
    }

    /// The first of the node's patches (cluster, pool, node, in order) after which rendering
    /// fails, applying them one more at a time.
    func firstRefused(_ node: NodeDescription, patches: [(patch: ConfigPatch, path: String)]) -> String? {
        for count in patches.indices.map({ $0 + 1 }) where (try? rendered(node, keeping: Set(0..<count), of: patches).render(node)) == nil {
            return patches[count - 1].path
        }
        return patches.last?.path
    }

    /// Labels and taints that Talos would write to a worker's Node with the kubelet's
    /// credentials, which NodeRestriction refuses (pool labels are checked by
    /// ``SpecValidator``, so whatever is found here came from a patch).
    func checkKubeletWrites(_ config: MachineConfig, node: String, patches: [(patch: ConfigPatch, path: String)], reported: inout Set<String>) {
        let classic = config.contract == .classic
        let nodeDocument = classic ? config.documents.first : config.documents.first { $0["kind"]?.stringValue == "KubeNodeConfig" }
        let labels = nodeDocument.flatMap { classic ? $0.value(at: ["machine", "nodeLabels"]) : $0["labels"] }
        let taints = nodeDocument.flatMap { classic ? $0.value(at: ["machine", "nodeTaints"]) : $0["taints"] }
        if case .mapping(let entries) = labels ?? .null {
            for entry in entries where !NodeRestriction.kubeletMaySet(label: entry.key) {
                let escaped = entry.key.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
                let path = patches.last { $0.patch.yaml.contains(entry.key) || $0.patch.yaml.contains(escaped) }?.path ?? "pools"
                guard reported.insert("\(path)#\(entry.key)").inserted else { continue }
                walker.error(at: path, "this patch gives \(node) label \(entry.key), which a node may not set on itself (Talos applies labels with the node's own credentials)",
                    hint: NodeRestriction.labelHint(entry.key))
            }
        }
        if case .mapping(let entries) = taints ?? .null, !entries.isEmpty {
            let key = classic ? "nodeTaints" : "taints"
            let path = patches.last { $0.patch.yaml.contains(key) }?.path ?? "pools"
            guard reported.insert("\(path)#taints").inserted else { return }
            walker.error(at: path, "this patch sets taints Talos would keep on worker \(node) with the kubelet's credentials, which the API server refuses after registration (and the node's labels fail with them)",
                hint: "give the pool `taints:` instead; clusterctl registers them through the kubelet (registerWithTaints)")
        }
    }
}
