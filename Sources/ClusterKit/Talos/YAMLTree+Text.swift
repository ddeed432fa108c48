import Yams

extension YAMLTree {
    /// Emits the value as one YAML document in the layout `talosctl` writes (go-yaml with a
    /// 4-space indent): block mappings and sequences, `{}`/`[]` when empty, literal blocks for
    /// multi-line strings. The output depends only on the value, never on hashing order.
    public func emitted() -> String {
        var out = ""
        switch self {
        case .mapping(let entries) where !entries.isEmpty:
            YAMLTree.emitMapping(entries, keyIndent: 0, childIndent: 4, into: &out)
        case .sequence(let items) where !items.isEmpty:
            YAMLTree.emitSequence(items, indent: 0, into: &out)
        default:
            out = YAMLTree.inline(self) + "\n"
        }
        return out
    }

    /// Emits several documents separated by `---`, as a multi-document machine config.
    public static func emitDocuments(_ documents: [YAMLTree]) -> String {
        documents.map { $0.emitted() }.joined(separator: "---\n")
    }

    private static func pad(_ count: Int) -> String { String(repeating: " ", count: count) }

    /// Keys at `keyIndent`; nested blocks at `childIndent`. A mapping that starts a sequence item
    /// has its keys two columns after the dash and its children four, as go-yaml writes it.
    private static func emitMapping(
        _ entries: [YAMLEntry], keyIndent: Int, childIndent: Int, firstLinePrefix: String? = nil, into out: inout String
    ) {
        for (offset, entry) in entries.enumerated() {
            let lead = offset == 0 && firstLinePrefix != nil ? (firstLinePrefix ?? "") : pad(keyIndent)
            let key = scalarText(entry.key)
            switch entry.value {
            case .mapping(let children) where !children.isEmpty:
                out += "\(lead)\(key):\n"
                emitMapping(children, keyIndent: childIndent, childIndent: childIndent + 4, into: &out)
            case .sequence(let items) where !items.isEmpty:
                out += "\(lead)\(key):\n"
                emitSequence(items, indent: childIndent, into: &out)
            case .string(let text) where isLiteralSafe(text):
                out += "\(lead)\(key): \(literalHeader(text))\n"
                emitLiteral(text, indent: childIndent, into: &out)
            default:
                out += "\(lead)\(key): \(inline(entry.value))\n"
            }
        }
    }

    private static func emitSequence(_ items: [YAMLTree], indent: Int, into out: inout String) {
        for item in items {
            let dash = pad(indent) + "- "
            switch item {
            case .mapping(let children) where !children.isEmpty:
                emitMapping(children, keyIndent: indent + 2, childIndent: indent + 4, firstLinePrefix: dash, into: &out)
            case .sequence(let nested) where !nested.isEmpty:
                out += "\(pad(indent))-\n"
                emitSequence(nested, indent: indent + 4, into: &out)
            case .string(let text) where isLiteralSafe(text):
                out += "\(dash)\(literalHeader(text))\n"
                emitLiteral(text, indent: indent + 2, into: &out)
            default:
                out += "\(dash)\(inline(item))\n"
            }
        }
    }

    /// Multi-line strings a literal block reproduces exactly; others are double-quoted.
    private static func isLiteralSafe(_ text: String) -> Bool {
        text.contains("\n") && !text.hasSuffix("\n\n") && !text.hasPrefix(" ") && !text.hasPrefix("\n")
            && !text.unicodeScalars.contains { ($0.value < 0x20 && $0 != "\n" && $0 != "\t") || $0.value == 0x7F }
    }

    private static func literalHeader(_ text: String) -> String {
        text.hasSuffix("\n") ? "|" : "|-"
    }

    private static func emitLiteral(_ text: String, indent: Int, into out: inout String) {
        var body = Substring(text)
        while body.hasSuffix("\n") { body = body.dropLast() }
        for line in body.split(separator: "\n", omittingEmptySubsequences: false) {
            out += line.isEmpty ? "\n" : "\(pad(indent))\(line)\n"
        }
    }

    private static func inline(_ value: YAMLTree) -> String {
        switch value {
        case .mapping: "{}"
        case .sequence: "[]"
        case .string(let text): scalarText(text)
        case .int(let number): String(number)
        case .bool(let flag): flag ? "true" : "false"
        case .plain(let text): text
        case .null: "null"
        }
    }

    /// A string as a plain scalar when YAML would read it back as the same string, else
    /// double-quoted with escapes.
    static func scalarText(_ text: String) -> String {
        isSafePlain(text) ? text : quoted(text)
    }

    private static let reservedWords: Set<String> = [
        "true", "false", "yes", "no", "on", "off", "y", "n", "null", "~", ".nan", ".inf", "-.inf", "+.inf", "=", "<<",
    ]

    private static func isSafePlain(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, let last = text.unicodeScalars.last else { return false }
        if reservedWords.contains(text.lowercased()) { return false }
        if "-?:,[]{}#&*!|>'\"%@`".unicodeScalars.contains(first) { return false }
        if first == " " || last == " " || last == ":" || text.hasPrefix("---") || text.hasPrefix("...") { return false }
        if text.contains(": ") || text.contains(" #") || text.contains("\t") { return false }
        if text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) { return false }
        if looksNumeric(text) { return false }
        return true
    }

    /// Whether a YAML 1.1 or 1.2 reader could take the text as a number or timestamp (integers,
    /// floats, hex/octal/binary, underscores, sexagesimal, dates). Conservative: such strings get
    /// quoted. Dotted quads such as IPv4 addresses and versions like `1.34.1` stay plain, as
    /// go-yaml writes them.
    private static func looksNumeric(_ text: String) -> Bool {
        if Int(text) != nil || Double(text) != nil { return true }
        var scalars = Substring(text).unicodeScalars[...]
        if let first = scalars.first, first == "-" || first == "+" { scalars = scalars.dropFirst() }
        guard let lead = scalars.first else { return false }
        if lead == "0", let second = scalars.dropFirst().first, "xXoObB".unicodeScalars.contains(second) {
            return scalars.dropFirst(2).allSatisfy { $0 == "_" || $0.properties.isASCIIHexDigit }
        }
        guard ("0"..."9").contains(lead) || lead == "." else { return false }
        var dots = 0
        for scalar in scalars {
            if scalar == "." { dots += 1 }
            guard ("0"..."9").contains(scalar) || "._:+-eE".unicodeScalars.contains(scalar) else { return false }
        }
        return dots <= 1
    }

    private static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += "\\x" + String(scalar.value, radix: 16).leftPadded(to: 2)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}

extension YAMLTree {
    /// Parses every document of a YAML stream, keeping mapping order.
    public static func parseDocuments(_ text: String) throws(ClusterError) -> [YAMLTree] {
        do {
            var result: [YAMLTree] = []
            for node in try Yams.compose_all(yaml: text) {
                result.append(try YAMLTree(node: node))
            }
            return result
        } catch let error as ClusterError {
            throw error
        } catch {
            throw ClusterError(.invalidSpec, "YAML could not be parsed: \(error)", cause: error)
        }
    }

    /// Parses a single-document YAML text.
    public static func parse(_ text: String) throws(ClusterError) -> YAMLTree {
        let documents = try parseDocuments(text)
        guard documents.count == 1, let document = documents.first else {
            throw ClusterError(.invalidSpec, "expected one YAML document, found \(documents.count)")
        }
        return document
    }

    /// Resolves a plain scalar with the YAML 1.2 core schema, as go-yaml v3 (and so Talos) does:
    /// `yes`/`on` stay strings.
    static func resolvePlain(_ text: String) -> YAMLTree {
        switch text {
        case "", "~", "null", "Null", "NULL": return .null
        case "true", "True", "TRUE": return .bool(true)
        case "false", "False", "FALSE": return .bool(false)
        default:
            if let number = Int(text) { return .int(number) }
            if Double(text) != nil || [".inf", "-.inf", "+.inf", ".nan"].contains(text.lowercased()) { return .plain(text) }
            return .string(text)
        }
    }

    init(node: Node) throws {
        switch node {
        case .mapping(let mapping):
            var entries: [YAMLEntry] = []
            for (key, value) in mapping {
                guard let keyText = key.scalar?.string else {
                    throw ClusterError(.invalidSpec, "YAML mapping keys must be scalars (line \(key.mark?.line ?? 0))")
                }
                entries.append(YAMLEntry(keyText, try YAMLTree(node: value)))
            }
            self = .mapping(entries)
        case .sequence(let sequence):
            self = .sequence(try sequence.map { try YAMLTree(node: $0) })
        case .scalar(let scalar):
            if scalar.style == .singleQuoted || scalar.style == .doubleQuoted || scalar.style == .literal || scalar.style == .folded {
                self = .string(scalar.string)
                return
            }
            self = YAMLTree.resolvePlain(scalar.string)
        case .alias:
            throw ClusterError(.invalidSpec, "YAML aliases are not supported in Talos configs or patches")
        }
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
