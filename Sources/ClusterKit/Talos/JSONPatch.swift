import Foundation

/// RFC 6902 JSON Patch over a ``YAMLTree`` (operations add, remove, replace, move, copy, test;
/// paths are RFC 6901 JSON pointers).
enum JSONPatch {
    struct Failure: Error {
        var reason: String
    }

    static func apply(_ operation: YAMLTree, to root: inout YAMLTree) throws(Failure) {
        guard case .mapping = operation, let op = operation["op"]?.stringValue else {
            throw Failure(reason: "each operation needs an `op`")
        }
        guard let pathText = operation["path"]?.stringValue else { throw Failure(reason: "\(op) needs a `path`") }
        let path = try pointer(pathText)
        switch op {
        case "add":
            guard let value = operation["value"] else { throw Failure(reason: "add \(pathText) needs a `value`") }
            try add(value, at: path, text: pathText, in: &root)
        case "remove":
            _ = try remove(at: path, text: pathText, in: &root)
        case "replace":
            guard let value = operation["value"] else { throw Failure(reason: "replace \(pathText) needs a `value`") }
            _ = try remove(at: path, text: pathText, in: &root)
            try add(value, at: path, text: pathText, in: &root)
        case "move", "copy":
            guard let fromText = operation["from"]?.stringValue else { throw Failure(reason: "\(op) needs a `from`") }
            let from = try pointer(fromText)
            let value = op == "move" ? try remove(at: from, text: fromText, in: &root) : try get(from, text: fromText, in: root)
            try add(value, at: path, text: pathText, in: &root)
        case "test":
            guard let expected = operation["value"] else { throw Failure(reason: "test \(pathText) needs a `value`") }
            let actual = try get(path, text: pathText, in: root)
            guard actual == expected else { throw Failure(reason: "test failed: \(pathText) has a different value") }
        default:
            throw Failure(reason: "unknown op \(op)")
        }
    }

    static func pointer(_ text: String) throws(Failure) -> [String] {
        if text.isEmpty { return [] }
        guard text.hasPrefix("/") else { throw Failure(reason: "path \(text) must start with /") }
        return text.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map {
            $0.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
        }
    }

    private static func get(_ path: [String], text: String, in node: YAMLTree) throws(Failure) -> YAMLTree {
        var current = node
        for token in path {
            switch current {
            case .mapping:
                guard let next = current[token] else { throw Failure(reason: "path \(text) does not exist") }
                current = next
            case .sequence(let items):
                guard let index = Int(token), items.indices.contains(index) else { throw Failure(reason: "path \(text) does not exist") }
                current = items[index]
            default:
                throw Failure(reason: "path \(text) does not exist")
            }
        }
        return current
    }

    private static func add(_ value: YAMLTree, at path: [String], text: String, in node: inout YAMLTree) throws(Failure) {
        guard let last = path.last else {
            node = value
            return
        }
        try modifyParent(path, text: text, in: &node) { (parent: inout YAMLTree) throws(Failure) in
            switch parent {
            case .mapping:
                parent.set(last, value)
            case .sequence(var items):
                if last == "-" {
                    items.append(value)
                } else {
                    guard let index = Int(last), index >= 0, index <= items.count else {
                        throw Failure(reason: "path \(text): index out of range")
                    }
                    items.insert(value, at: index)
                }
                parent = .sequence(items)
            default:
                throw Failure(reason: "path \(text): parent is not a mapping or list")
            }
        }
    }

    private static func remove(at path: [String], text: String, in node: inout YAMLTree) throws(Failure) -> YAMLTree {
        guard let last = path.last else { throw Failure(reason: "cannot remove the whole document") }
        var removed = YAMLTree.null
        try modifyParent(path, text: text, in: &node) { (parent: inout YAMLTree) throws(Failure) in
            switch parent {
            case .mapping:
                guard let value = parent[last] else { throw Failure(reason: "path \(text) does not exist") }
                removed = value
                parent.remove(last)
            case .sequence(var items):
                guard let index = Int(last), items.indices.contains(index) else { throw Failure(reason: "path \(text) does not exist") }
                removed = items.remove(at: index)
                parent = .sequence(items)
            default:
                throw Failure(reason: "path \(text) does not exist")
            }
        }
        return removed
    }

    /// Runs `body` on the container holding the path's last element; every step before it must exist.
    private static func modifyParent(
        _ path: [String], text: String, in node: inout YAMLTree, _ body: (inout YAMLTree) throws(Failure) -> Void
    ) throws(Failure) {
        guard path.count > 1 else {
            try body(&node)
            return
        }
        let head = path[0]
        let rest = Array(path.dropFirst())
        switch node {
        case .mapping:
            guard var child = node[head] else { throw Failure(reason: "path \(text) does not exist") }
            try modifyParent(rest, text: text, in: &child, body)
            node.set(head, child)
        case .sequence(var items):
            guard let index = Int(head), items.indices.contains(index) else { throw Failure(reason: "path \(text) does not exist") }
            try modifyParent(rest, text: text, in: &items[index], body)
            node = .sequence(items)
        default:
            throw Failure(reason: "path \(text) does not exist")
        }
    }
}
