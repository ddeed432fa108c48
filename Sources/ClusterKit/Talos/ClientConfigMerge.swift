/// Merges a cluster's client configs into a person's own `~/.talos/config` and `~/.kube/config`
/// without touching their other contexts, as `talosctl config merge` and `talosctl kubeconfig
/// --merge` do: entries of the same name are replaced, the rest kept in order, and the current
/// context switches to the merged cluster's.
public enum ClientConfigMerge {
    /// A talosconfig (`context`, `contexts.<name>`) merged into `existing` (nil: no file yet).
    public static func talosconfig(_ new: String, into existing: String?, path: String) throws(ClusterError) -> String {
        let incoming = try parse(new, "the cluster's talosconfig")
        var merged = try existing.map { text throws(ClusterError) in try parse(text, path) } ?? .mapping([])
        guard case .mapping(let contexts)? = incoming["contexts"], let current = incoming["context"] else {
            throw ClusterError(.secrets, "the cluster's talosconfig has no contexts")
        }
        var all = merged["contexts"] ?? .mapping([])
        guard case .mapping = all else { throw malformed(path, "`contexts` is not a mapping") }
        for context in contexts { all.set(context.key, context.value) }
        merged.set("context", current)
        merged.set("contexts", all)
        return merged.emitted()
    }

    /// An admin kubeconfig (`clusters`, `users`, `contexts` lists of named entries,
    /// `current-context`) merged into `existing` (nil: no file yet).
    public static func kubeconfig(_ new: String, into existing: String?, path: String) throws(ClusterError) -> String {
        let incoming = try parse(new, "the cluster's kubeconfig")
        var merged = try existing.map { text throws(ClusterError) in try parse(text, path) }
            ?? .mapping([YAMLEntry("apiVersion", .string("v1")), YAMLEntry("kind", .string("Config"))])
        for list in ["clusters", "users", "contexts"] {
            guard case .sequence(let added)? = incoming[list] else { continue }
            var items: [YAMLTree] = []
            switch merged[list] {
            case .sequence(let present)?: items = present
            case nil, .null?: items = []
            default: throw malformed(path, "`\(list)` is not a list")
            }
            for entry in added {
                let name = entry["name"]?.stringValue
                if let index = items.firstIndex(where: { $0["name"]?.stringValue == name }) {
                    items[index] = entry
                } else {
                    items.append(entry)
                }
            }
            merged.set(list, .sequence(items))
        }
        if let current = incoming["current-context"] { merged.set("current-context", current) }
        return merged.emitted()
    }

    private static func parse(_ text: String, _ source: String) throws(ClusterError) -> YAMLTree {
        let tree: YAMLTree
        do {
            tree = try YAMLTree.parse(text)
        } catch {
            throw malformed(source, "it is not valid YAML")
        }
        switch tree {
        case .mapping: return tree
        case .null: return .mapping([])
        default: throw malformed(source, "it is not a YAML mapping")
        }
    }

    private static func malformed(_ source: String, _ why: String) -> ClusterError {
        ClusterError(.refused, "\(source) cannot be merged into: \(why); it was left as it was", hint: "fix or move the file, then run the command again")
    }
}
