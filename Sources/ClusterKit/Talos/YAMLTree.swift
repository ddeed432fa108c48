/// An ordered YAML value, as Talos machine configs and patches are built and merged.
///
/// Mappings keep insertion order so that the emitted text is byte-identical for the same input
/// (configs diff cleanly in git), unlike dictionaries.
public indirect enum YAMLTree: Sendable, Hashable {
    case mapping([YAMLEntry])
    case sequence([YAMLTree])
    /// A string scalar; multi-line strings are emitted as literal blocks (`|`).
    case string(String)
    case int(Int)
    case bool(Bool)
    /// Any other plain scalar kept as written (floats, durations read from patches).
    case plain(String)
    case null

    /// The value under `key` when this is a mapping.
    public subscript(key: String) -> YAMLTree? {
        guard case .mapping(let entries) = self else { return nil }
        return entries.first { $0.key == key }?.value
    }

    /// The value at a path of mapping keys.
    public func value(at path: [String]) -> YAMLTree? {
        var current: YAMLTree? = self
        for key in path { current = current?[key] }
        return current
    }

    /// The string value of a string or plain scalar.
    public var stringValue: String? {
        switch self {
        case .string(let text), .plain(let text): text
        default: nil
        }
    }

    /// Sets `value` under `key` (replacing in place or appending) when this is a mapping.
    public mutating func set(_ key: String, _ value: YAMLTree) {
        guard case .mapping(var entries) = self else { return }
        if let index = entries.firstIndex(where: { $0.key == key }) {
            entries[index].value = value
        } else {
            entries.append(YAMLEntry(key, value))
        }
        self = .mapping(entries)
    }

    /// Sets a value at a path of mapping keys, creating intermediate mappings.
    public mutating func set(path: [String], _ value: YAMLTree) {
        guard let first = path.first else {
            self = value
            return
        }
        var child = self[first] ?? .mapping([])
        child.set(path: Array(path.dropFirst()), value)
        set(first, child)
    }

    /// Removes `key` from a mapping; returns whether it was there.
    @discardableResult
    public mutating func remove(_ key: String) -> Bool {
        guard case .mapping(var entries) = self, let index = entries.firstIndex(where: { $0.key == key }) else {
            return false
        }
        entries.remove(at: index)
        self = .mapping(entries)
        return true
    }

    /// Every key path in the tree, as `a.b.c`; sequence items appear as `[]`.
    public var keyPaths: Set<String> {
        var result = Set<String>()
        func walk(_ node: YAMLTree, _ prefix: String) {
            switch node {
            case .mapping(let entries):
                for entry in entries {
                    let path = prefix.isEmpty ? entry.key : "\(prefix).\(entry.key)"
                    result.insert(path)
                    walk(entry.value, path)
                }
            case .sequence(let items):
                for item in items { walk(item, prefix + "[]") }
            default:
                break
            }
        }
        walk(self, "")
        return result
    }
}

extension YAMLTree {
    /// A mapping from ordered pairs; nil values are left out.
    static func obj(_ pairs: KeyValuePairs<String, YAMLTree?>) -> YAMLTree {
        .mapping(pairs.compactMap { key, value in value.map { YAMLEntry(key, $0) } })
    }

    /// A mapping of string values sorted by key, for labels and taints given as dictionaries.
    static func sortedStrings(_ dictionary: [String: String]) -> YAMLTree {
        .mapping(dictionary.keys.sorted().map { YAMLEntry($0, .string(dictionary[$0] ?? "")) })
    }

    static func strings(_ values: [String]) -> YAMLTree { .sequence(values.map(YAMLTree.string)) }
}
