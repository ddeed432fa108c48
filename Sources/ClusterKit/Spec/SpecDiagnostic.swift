/// One problem found in a spec or image file, with the place it was found.
///
/// `description` reads like a compiler diagnostic, so editors and terminals can jump to it:
/// `clusters/home.yaml:23:5: error: pools[1].provider: unknown provider "hetznr"` followed by an
/// indented `hint:` line when there is one.
public struct SpecDiagnostic: Sendable, Hashable, CustomStringConvertible {
    public enum Severity: String, Sendable, Hashable {
        case error
        case warning
    }

    public var severity: Severity
    public var file: String
    /// 1-based line; 0 when the problem has no place in the file (an unreadable file).
    public var line: Int
    /// 1-based column, counted in Unicode scalars as libyaml counts them.
    public var column: Int
    /// The field path, e.g. `pools[1].provider`; empty for the document itself.
    public var path: String
    /// What is wrong.
    public var message: String
    /// What would be right.
    public var hint: String?

    public init(
        severity: Severity, file: String, line: Int, column: Int, path: String, message: String,
        hint: String? = nil
    ) {
        self.severity = severity
        self.file = file
        self.line = line
        self.column = column
        self.path = path
        self.message = message
        self.hint = hint
    }

    /// `line:column`, for tests and short listings.
    public var position: String { "\(line):\(column)" }

    public var description: String {
        // The file name comes from the command line; it is shown escaped like everything else.
        let shownFile = InputSanitizer.escaped(file)
        let place = line > 0 ? "\(shownFile):\(line):\(column)" : shownFile
        let field = path.isEmpty ? "" : "\(path): "
        var text = "\(place): \(severity.rawValue): \(field)\(message)"
        if let hint { text += "\n  hint: \(hint)" }
        return text
    }
}
