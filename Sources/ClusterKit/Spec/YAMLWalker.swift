internal import Yams

/// A strict, typed reader over a Yams `Node` tree. It never stops at the first problem: every
/// accessor records a diagnostic (file, line, column, field path, what is wrong, what would be
/// right) and returns nil, so one pass reports everything.
///
/// Positions come from `Node.mark` (libyaml's start mark, 1-based, columns in Unicode scalars).
final class YAMLWalker {
    let file: String
    private(set) var diagnostics: [SpecDiagnostic] = []
    /// The mark of every value visited, by field path, so later validation can point at fields.
    private(set) var marks: [String: Mark] = [:]

    /// Keys that hold secrets. A literal value under one of them is refused: secrets are only
    /// references (`<key>Env: VAR` or `<key>File: path`).
    static let secretKeys: Set<String> = [
        "token", "password", "secret", "apitoken", "privatekey", "passphrase", "apikey", "credentials",
        "heartbeaturl", "clientsecret", "secretkey", "accesskey",
    ]

    init(file: String) {
        self.file = file
    }

    var hasErrors: Bool { droppedErrors > 0 || diagnostics.contains { $0.severity == .error } }

    // MARK: - Diagnostics

    func error(_ node: Node?, _ path: String, _ message: String, hint: String? = nil) {
        report(.error, mark: node?.mark, path, message, hint: hint)
    }

    func warning(_ node: Node?, _ path: String, _ message: String, hint: String? = nil) {
        report(.warning, mark: node?.mark, path, message, hint: hint)
    }

    /// Reports at the recorded position of `path`, or of its nearest recorded parent.
    func error(at path: String, _ message: String, hint: String? = nil) {
        report(.error, mark: mark(for: path), path, message, hint: hint)
    }

    func warning(at path: String, _ message: String, hint: String? = nil) {
        report(.warning, mark: mark(for: path), path, message, hint: hint)
    }

    /// Every diagnostic passes here: message, hint and field path (which holds the spec's own
    /// keys) are made safe to print (``InputSanitizer``), and past ``maxDiagnostics`` the rest are
    /// only counted, so a hostile file cannot flood the terminal.
    func report(_ severity: SpecDiagnostic.Severity, mark: Mark?, _ path: String, _ message: String, hint: String?) {
        guard diagnostics.count < YAMLWalker.maxDiagnostics else {
            if severity == .error { droppedErrors += 1 }
            return
        }
        diagnostics.append(
            SpecDiagnostic(
                severity: severity, file: file, line: mark?.line ?? 0, column: mark?.column ?? 0, path: InputSanitizer.message(path),
                message: InputSanitizer.message(message), hint: hint.map(InputSanitizer.message)))
    }

    /// The most diagnostics kept for one file; a real spec has a handful.
    static let maxDiagnostics = 100
    /// Errors found past ``maxDiagnostics``, reported as one closing line.
    private(set) var droppedErrors = 0

    func mark(for path: String) -> Mark? {
        var current = path
        while true {
            if let mark = marks[current] { return mark }
            guard let cut = current.lastIndex(where: { $0 == "." || $0 == "[" }) else { return marks[""] }
            current = String(current[..<cut])
        }
    }

    func record(_ node: Node, _ path: String) {
        record(mark: node.mark, path)
    }

    func record(mark: Mark?, _ path: String) {
        if let mark, marks[path] == nil { marks[path] = mark }
    }

    /// Diagnostics sorted by position, errors before warnings at the same place.
    var sortedDiagnostics: [SpecDiagnostic] {
        let sorted = diagnostics.enumerated().sorted { lhs, rhs in
            let l = lhs.element
            let r = rhs.element
            if (l.line, l.column) != (r.line, r.column) { return (l.line, l.column) < (r.line, r.column) }
            return lhs.offset < rhs.offset
        }.map(\.element)
        guard droppedErrors > 0 else { return sorted }
        return sorted + [
            SpecDiagnostic(
                severity: .error, file: file, line: 0, column: 0, path: "",
                message: "\(droppedErrors) more error\(droppedErrors == 1 ? "" : "s") not shown", hint: "fix the errors above and validate again")
        ]
    }

    // MARK: - Documents

    /// Parses YAML text into its single document, turning libyaml errors into diagnostics.
    /// Oversized text is refused unread, and the document is screened (``YAMLScreen``) before
    /// anyone walks it.
    func parse(_ text: String) -> Node? {
        guard text.utf8.count <= SpecLoader.maxBytes else {
            report(.error, mark: nil, "", "the file is \(text.utf8.count) bytes; a spec is at most \(SpecLoader.maxBytes) bytes",
                hint: "a cluster spec is a few kilobytes; move large patches to files under patches/")
            return nil
        }
        do {
            guard let root = try Yams.compose(yaml: text) else {
                report(.error, mark: nil, "", "the file is empty", hint: "see clusters/home.yaml for a complete example")
                return nil
            }
            if let problem = YAMLScreen.problem(in: root) {
                report(.error, mark: problem.mark, problem.path, problem.message, hint: problem.hint)
                return nil
            }
            return root
        } catch let error as YamlError {
            recordYAMLError(error)
            return nil
        } catch {
            report(.error, mark: nil, "", "cannot parse YAML: \(error)", hint: nil)
            return nil
        }
    }

    private func recordYAMLError(_ error: YamlError) {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let prefix = context.map { "\($0.text) " } ?? ""
            report(.error, mark: mark, "", "invalid YAML: \(prefix)\(problem)", hint: "check indentation and quoting on this line")
        case .duplicatedKeysInMapping(let duplicates, let context):
            report(
                .error, mark: context.mark, "",
                "duplicate key\(duplicates.count == 1 ? "" : "s") \(duplicates.sorted().map { "\"\($0)\"" }.joined(separator: ", ")) in one mapping",
                hint: "each key may appear once; merge the entries")
        default:
            report(.error, mark: nil, "", "cannot read YAML: \(error)", hint: nil)
        }
    }

    // MARK: - Paths

    static func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }
    static func index(_ path: String, _ index: Int) -> String { "\(path)[\(index)]" }

    // MARK: - Mappings

    /// Opens a mapping whose allowed keys are `keys`. Unknown keys are reported with a "did you
    /// mean" hint; literal secrets are refused. Returns nil (after reporting) when `node` is not a
    /// mapping.
    func map(_ node: Node, _ path: String, keys: [String], what: String? = nil) -> FieldMap? {
        record(node, path)
        guard let mapping = node.mapping else {
            error(node, path, "expected a mapping\(what.map { " (\($0))" } ?? ""), found \(describe(node))",
                hint: "write `key: value` lines indented under this field; allowed keys: \(keys.joined(separator: ", "))")
            return nil
        }
        var values: [String: (key: Node, value: Node)] = [:]
        for (keyNode, valueNode) in mapping {
            guard let key = keyNode.scalar?.string else {
                error(keyNode, path, "mapping keys must be plain names, found \(describe(keyNode))")
                continue
            }
            let childPath = YAMLWalker.join(path, key)
            if checkInlineSecret(key: key, keyNode: keyNode, value: valueNode, path: childPath) { continue }
            guard keys.contains(key) else {
                error(keyNode, childPath, "unknown field \"\(key)\"\(what.map { " in \($0)" } ?? "")",
                    hint: EditDistance.hint(for: key, among: keys, noun: "allowed fields"))
                continue
            }
            record(valueNode, childPath)
            values[key] = (keyNode, valueNode)
        }
        return FieldMap(walker: self, node: node, path: path, values: values)
    }

    /// Refuses `token: abc` and friends. Returns true when the key was a secret key (reported or not).
    @discardableResult
    func checkInlineSecret(key: String, keyNode: Node, value: Node, path: String) -> Bool {
        guard YAMLWalker.secretKeys.contains(key.lowercased()) else { return false }
        if let scalar = value.scalar, !isNull(scalar) {
            error(keyNode, path, "inline secrets are refused: \"\(key)\" holds a literal value",
                hint: "secrets are only references: write `\(key)Env: VARIABLE` (e.g. `tokenEnv: HCLOUD_TOKEN`) or `\(key)File: path/to/file`")
        } else {
            error(keyNode, path, "\"\(key)\" cannot be given here; secrets are only references",
                hint: "write `\(key)Env: VARIABLE` or `\(key)File: path/to/file`")
        }
        return true
    }

    /// Walks arbitrary YAML (inline config patches) refusing literal secrets anywhere inside.
    func scanForSecrets(_ node: Node, _ path: String) {
        if let mapping = node.mapping {
            for (keyNode, valueNode) in mapping {
                let key = keyNode.scalar?.string ?? ""
                let child = YAMLWalker.join(path, key)
                if YAMLWalker.secretKeys.contains(key.lowercased()), valueNode.scalar != nil {
                    error(keyNode, child, "inline secrets are refused in patches: \"\(key)\" holds a literal value",
                        hint: "keep secrets out of the spec; Talos secrets are generated and stored by clusterctl")
                } else {
                    scanForSecrets(valueNode, child)
                }
            }
        } else if let sequence = node.sequence {
            for (offset, item) in sequence.enumerated() { scanForSecrets(item, YAMLWalker.index(path, offset)) }
        }
    }

    // MARK: - Scalars

    func describe(_ node: Node) -> String {
        switch node {
        case .scalar(let scalar):
            if isNull(scalar) {
                return "nothing (null)"
            }
            return "\"\(scalar.string)\""
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }

    private func isNull(_ scalar: Node.Scalar) -> Bool {
        scalar.style == .plain && (scalar.string.isEmpty || scalar.string == "~" || scalar.string == "null" || scalar.string == "Null" || scalar.string == "NULL")
    }

    func string(_ node: Node, _ path: String, example: String? = nil) -> String? {
        record(node, path)
        guard let scalar = node.scalar, !isNull(scalar) else {
            error(node, path, "expected a string, found \(describe(node))", hint: example.map { "for example: \($0)" })
            return nil
        }
        if scalar.string.isEmpty {
            error(node, path, "must not be empty", hint: example.map { "for example: \($0)" })
            return nil
        }
        return scalar.string
    }

    func int(_ node: Node, _ path: String, range: ClosedRange<Int>? = nil) -> Int? {
        record(node, path)
        guard let scalar = node.scalar, scalar.style == .plain, let value = Int(scalar.string) else {
            error(node, path, "expected an integer, found \(describe(node))",
                hint: node.scalar?.style != .plain && node.scalar.flatMap({ Int($0.string) }) != nil ? "remove the quotes" : nil)
            return nil
        }
        if let range, !range.contains(value) {
            let text = range.upperBound == Int.max ? "at least \(range.lowerBound)" : "between \(range.lowerBound) and \(range.upperBound)"
            error(node, path, "must be \(text), found \(value)")
            return nil
        }
        return value
    }

    func bool(_ node: Node, _ path: String) -> Bool? {
        record(node, path)
        guard let scalar = node.scalar, scalar.style == .plain, scalar.string == "true" || scalar.string == "false" else {
            error(node, path, "expected true or false, found \(describe(node))", hint: "write true or false (unquoted)")
            return nil
        }
        return scalar.string == "true"
    }

    /// A string that must be one of `values`.
    func choice(_ node: Node, _ path: String, _ values: [String], what: String = "value") -> String? {
        guard let text = string(node, path) else { return nil }
        guard values.contains(text) else {
            error(node, path, "\"\(text)\" is not a valid \(what)", hint: EditDistance.hint(for: text, among: values))
            return nil
        }
        return text
    }

    func list(_ node: Node, _ path: String, of what: String) -> [(node: Node, path: String)]? {
        record(node, path)
        guard let sequence = node.sequence else {
            error(node, path, "expected a list of \(what), found \(describe(node))",
                hint: "write one `- item` per line, or [a, b] on one line")
            return nil
        }
        return sequence.enumerated().map { offset, item in
            let itemPath = YAMLWalker.index(path, offset)
            record(item, itemPath)
            return (item, itemPath)
        }
    }

    func strings(_ node: Node, _ path: String, of what: String) -> [String]? {
        guard let items = list(node, path, of: what) else { return nil }
        var result: [String] = []
        var failed = false
        for item in items {
            if let text = string(item.node, item.path) { result.append(text) } else { failed = true }
        }
        return failed ? nil : result
    }

    /// A duration such as `30s`, `5m`, `1h30m`.
    func duration(_ node: Node, _ path: String) -> Duration? {
        guard let text = string(node, path, example: "5m") else { return nil }
        guard let seconds = YAMLWalker.parseDuration(text), seconds > 0 else {
            error(node, path, "\"\(text)\" is not a duration", hint: "use a number with a unit, at most a year: 90s, 5m, 1h30m")
            return nil
        }
        return .seconds(seconds)
    }

    static func parseDuration(_ text: String) -> Int? {
        var total = 0
        var number = ""
        var sawUnit = false
        for character in text {
            if character.isASCII, character.isNumber {
                number.append(character)
                continue
            }
            guard let value = Int(number) else { return nil }
            let factor: Int
            switch character {
            case "s": factor = 1
            case "m": factor = 60
            case "h": factor = 3600
            case "d": factor = 86400
            default: return nil
            }
            // A hostile `99999999999999999d` must not trap; nothing here needs more than a year.
            let (part, overflow) = value.multipliedReportingOverflow(by: factor)
            guard !overflow, part <= 366 * 86400 else { return nil }
            total += part
            guard total <= 366 * 86400 else { return nil }
            number = ""
            sawUnit = true
        }
        return number.isEmpty && sawUnit ? total : nil
    }
}

/// The fields of one mapping, already checked against its allowed keys.
struct FieldMap {
    let walker: YAMLWalker
    let node: Node
    let path: String
    let values: [String: (key: Node, value: Node)]

    func has(_ key: String) -> Bool { values[key] != nil }

    func path(_ key: String) -> String { YAMLWalker.join(path, key) }

    /// The value node, or nil (reporting a missing field when `required`).
    func value(_ key: String, required: Bool = false, example: String? = nil) -> Node? {
        if let entry = values[key] { return entry.value }
        if required {
            walker.error(node, path(key), "missing required field \"\(key)\"",
                hint: example.map { "add `\(key): \($0)`" })
        }
        return nil
    }

    func keyNode(_ key: String) -> Node? { values[key]?.key }

    func string(_ key: String, required: Bool = false, example: String? = nil) -> String? {
        value(key, required: required, example: example).flatMap { walker.string($0, path(key), example: example) }
    }

    func int(_ key: String, required: Bool = false, range: ClosedRange<Int>? = nil, example: String? = nil) -> Int? {
        value(key, required: required, example: example).flatMap { walker.int($0, path(key), range: range) }
    }

    func bool(_ key: String, required: Bool = false) -> Bool? {
        value(key, required: required, example: "true").flatMap { walker.bool($0, path(key)) }
    }

    func choice(_ key: String, _ values: [String], required: Bool = false, what: String = "value") -> String? {
        value(key, required: required, example: values.first).flatMap { walker.choice($0, path(key), values, what: what) }
    }

    func strings(_ key: String, required: Bool = false, of what: String) -> [String]? {
        value(key, required: required, example: "[...]").flatMap { walker.strings($0, path(key), of: what) }
    }

    func duration(_ key: String, required: Bool = false) -> Duration? {
        value(key, required: required, example: "5m").flatMap { walker.duration($0, path(key)) }
    }

    /// Reads `<name>Env` / `<name>File` into a reference; both or (when required) neither is an error.
    func secretReference(_ name: String, required: Bool, exampleEnv: String) -> SecretReference? {
        let envKey = "\(name)Env"
        let fileKey = "\(name)File"
        let env = string(envKey)
        let file = string(fileKey)
        if has(envKey) && has(fileKey) {
            walker.error(keyNode(fileKey), path(fileKey), "give either \(envKey) or \(fileKey), not both")
            return nil
        }
        if let env {
            if !SecretReference.isValidEnvironmentName(env) {
                walker.error(value(envKey), path(envKey), "\"\(env)\" is not an environment variable name",
                    hint: "use letters, digits and underscores, not starting with a digit, e.g. \(exampleEnv)")
                return nil
            }
            return .environment(env)
        }
        if let file { return .file(file) }
        if required && !has(envKey) && !has(fileKey) {
            walker.error(node, path(envKey), "missing \(envKey) (or \(fileKey))",
                hint: "add `\(envKey): \(exampleEnv)`; secrets are only given as references")
        }
        return nil
    }
}

extension SecretReference {
    /// POSIX environment variable names: letters, digits, underscore, not starting with a digit.
    static func isValidEnvironmentName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, !("0"..."9").contains(first) else { return false }
        return name.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_") }
    }
}
