/// A spec that loaded with no errors, with the warnings found and where it came from.
public struct LoadedSpec: Sendable {
    public var spec: ClusterSpec
    /// Advice that does not stop the spec from being used (even control-plane count, a site
    /// holding a control-plane majority, ...).
    public var warnings: [SpecDiagnostic]
    /// The spec file's path as given (or the name passed to `load(yaml:file:)`).
    public var file: String
    /// The image definition `talos.image` names, when `images/` sits next to `clusters/`.
    public var image: ImageDefinition?

    public init(spec: ClusterSpec, warnings: [SpecDiagnostic], file: String, image: ImageDefinition? = nil) {
        self.spec = spec
        self.warnings = warnings
        self.file = file
        self.image = image
    }
}
