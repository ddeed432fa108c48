internal import Yams

/// A first look at a parsed YAML document, before any field is read: it refuses what no cluster
/// spec or Talos patch needs and what would make reading it slow or unsafe.
///
/// - Explicit tags other than the core schema's (`!!binary`, `!!python/object`, `!custom`): a
///   spec holds plain values, and Talos reads its configs as plain YAML too.
/// - Documents that expand to very many values. Aliases share one parsed node, so
///   `&a [*b, *b, ...]` chains ("billion laughs") parse quickly but would make every later walk
///   exponential; the count here follows aliases and stops at the limit.
/// - Nesting deeper than any spec or Talos config has, so recursive walks stay shallow.
/// - Control and invisible characters (escape sequences, bidi overrides, zero-width spaces) in
///   any key or value; line breaks and tabs stay allowed for multi-line patch content.
///
/// The walk is iterative and stops at the first problem, so its cost is bounded by the limits.
enum YAMLScreen {
    struct Problem {
        var mark: Mark?
        var path: String
        var message: String
        var hint: String?
    }

    /// Values one document may expand to; the largest example spec has a few hundred.
    static let maxValues = 100_000
    /// Nesting depth; Talos configs nest about 8 levels, specs with patches about 12.
    static let maxDepth = 64

    /// Tags a value may carry: none, the non-specific `!`, and the YAML 1.2 core schema's, which
    /// only confirm what a plain value already is (YAML 1.2.2, section 10.3 "Core Schema").
    static let allowedTags: Set<String> = [
        "", "!", "tag:yaml.org,2002:str", "tag:yaml.org,2002:int", "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null",
        "tag:yaml.org,2002:float", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq",
    ]

    /// Tags Yams' default resolver gives plain scalars by their look (`2026-01-01`, `<<`, `=`),
    /// so an untagged date is not refused; written explicitly on a plain scalar they are
    /// indistinguishable and equally harmless, since specs read such values as text.
    static let implicitTags: Set<String> = ["tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:merge", "tag:yaml.org,2002:value"]

    static func problem(in root: Node) -> Problem? {
        var stack: [(node: Node, path: String, depth: Int)] = [(root, "", 1)]
        var count = 0
        while let (node, path, depth) = stack.popLast() {
            count += 1
            if count > maxValues {
                return Problem(
                    mark: root.mark, path: "",
                    message: "the document expands to more than \(maxValues) values",
                    hint: "a cluster spec needs far fewer; remove anchors and aliases (&name, *name) that repeat each other")
            }
            if depth > maxDepth {
                return Problem(mark: node.mark, path: path, message: "values are nested more than \(maxDepth) levels deep", hint: "flatten this part of the file")
            }
            let tag = node.tag.rawValue
            if !allowedTags.contains(tag) && !(node.scalar?.style == .plain && implicitTags.contains(tag)) {
                let shown = tag.hasPrefix("tag:yaml.org,2002:") ? "!!" + tag.dropFirst("tag:yaml.org,2002:".count) : tag
                return Problem(
                    mark: node.mark, path: path, message: "the YAML tag \(shown) is not allowed; only plain values are",
                    hint: "remove the tag and write the value itself (quote it if it should be a string)")
            }
            if let text = node.scalar?.string, let unsafe = text.unicodeScalars.first(where: { InputSanitizer.isUnsafe($0) && !"\n\t\r".unicodeScalars.contains($0) }) {
                return Problem(
                    mark: node.mark, path: path, message: "holds the control or invisible character \(InputSanitizer.escaped(String(Character(unsafe))))",
                    hint: "nothing in a spec or Talos config needs it; it could hide text or drive the terminal of whoever reads it")
            }
            switch node {
            case .mapping(let mapping):
                for (key, value) in mapping.reversed() {
                    let name = key.scalar?.string ?? "?"
                    stack.append((value, YAMLWalker.join(path, name), depth + 1))
                    stack.append((key, YAMLWalker.join(path, name), depth + 1))
                }
            case .sequence(let sequence):
                for (offset, item) in sequence.enumerated().reversed() {
                    stack.append((item, YAMLWalker.index(path, offset), depth + 1))
                }
            case .scalar, .alias:
                break
            }
        }
        return nil
    }
}
