/// The field tree of one Talos config contract, built once from ``TalosSchemaPaths``: which keys
/// each document kind allows, where free-form maps and lists are, and where the schema leaves a
/// subtree open. Used to refuse patches that name fields Talos does not have, before any node
/// config is rendered.
struct TalosSchema: Sendable {
    /// One field: its named children, the child every other key maps to (`*`), its list item
    /// (`[]`), and whether anything may follow (`**`).
    final class Field: Sendable {
        let children: [String: Field]
        let anyKey: Field?
        let item: Field?
        let isOpen: Bool

        init(children: [String: Field], anyKey: Field?, item: Field?, isOpen: Bool) {
            self.children = children
            self.anyKey = anyKey
            self.item = item
            self.isOpen = isOpen
        }

        /// The field a mapping key leads to, nil when the schema has none.
        func child(_ key: String) -> Field? {
            if isOpen { return self }
            return children[key] ?? anyKey
        }
    }

    /// Document kind (`v1alpha1` for the main document) to its root field.
    let documents: [String: Field]

    static let classic = TalosSchema(tables: [TalosSchemaPaths.shared, TalosSchemaPaths.classicOnly], extraRootKeys: ["persist"])
    static let multiDocument = TalosSchema(tables: [TalosSchemaPaths.shared, TalosSchemaPaths.multiDocumentOnly], extraRootKeys: ["persist"])

    static func forContract(_ contract: ConfigContract) -> TalosSchema {
        contract == .classic ? classic : multiDocument
    }

    /// `extraRootKeys` are v1alpha1 keys talosctl writes though the schema omits them (`persist`,
    /// ../shared/reference/talos/SOURCE.md).
    init(tables: [String], extraRootKeys: [String]) {
        final class Builder {
            var children: [String: Builder] = [:]
            var isOpen = false
            func child(_ key: String) -> Builder {
                if let existing = children[key] { return existing }
                let made = Builder()
                children[key] = made
                return made
            }
            func freeze() -> Field {
                var named: [String: Field] = [:]
                for (key, builder) in children where key != "*" && key != "[]" { named[key] = builder.freeze() }
                return Field(children: named, anyKey: children["*"]?.freeze(), item: children["[]"]?.freeze(), isOpen: isOpen)
            }
        }
        var roots: [String: Builder] = [:]
        for line in tables.joined(separator: "\n").split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let kind = String(parts[0])
            var node = roots[kind] ?? Builder()
            roots[kind] = node
            for component in parts[1].split(separator: ".") {
                if component == "**" {
                    node.isOpen = true
                    break
                }
                node = node.child(String(component))
            }
        }
        for key in extraRootKeys { _ = roots["v1alpha1"]?.child(key) }
        documents = roots.mapValues { $0.freeze() }
    }

    /// The document kinds this contract knows, sorted.
    var kinds: [String] { documents.keys.sorted() }
}
