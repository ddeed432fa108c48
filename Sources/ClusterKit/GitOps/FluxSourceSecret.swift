/// The Secret Flux's GitRepository `spec.secretRef` names, as the cluster half applies it:
/// `v1/Secret flux-system/flux-system`, `stringData`, no `type` (so Opaque) and no labels, as
/// `flux bootstrap` creates it (../shared/reference/flux/bootstrap-layout/README.md).
///
/// Holds secrets: its description lists only the keys.
public struct FluxSourceSecret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public let name: String
    public let namespace: String
    public let stringData: [String: String]

    public init(stringData: [String: String]) {
        name = FluxBootstrapLayout.namespace
        namespace = FluxBootstrapLayout.namespace
        self.stringData = stringData
    }

    public var description: String {
        "Secret \(namespace)/\(name) (keys: \(stringData.keys.sorted().joined(separator: ", ")); values redacted)"
    }

    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["description": description]) }
}
