/// A spec or image definition that could not be loaded: every error found in one pass, plus the
/// warnings seen on the way, in file order.
public struct SpecError: Error, Sendable, CustomStringConvertible {
    /// All diagnostics, errors and warnings, sorted by position.
    public var diagnostics: [SpecDiagnostic]

    public init(diagnostics: [SpecDiagnostic]) {
        self.diagnostics = diagnostics
    }

    public var errors: [SpecDiagnostic] { diagnostics.filter { $0.severity == .error } }
    public var warnings: [SpecDiagnostic] { diagnostics.filter { $0.severity == .warning } }

    public var description: String {
        let count = errors.count
        let summary = "\(count) error\(count == 1 ? "" : "s") in \(diagnostics.first?.file ?? "spec")"
        return (diagnostics.map(\.description) + [summary]).joined(separator: "\n")
    }

    /// The project error the CLI prints, with every diagnostic in the message.
    public var clusterError: ClusterError {
        ClusterError(
            .invalidSpec, description,
            hint: "fix the errors above, then run `clusterctl validate` again", cause: self)
    }
}
