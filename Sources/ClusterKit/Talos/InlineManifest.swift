/// A manifest Talos applies at bootstrap (`cluster.inlineManifests` or
/// `KubeInlineManifestConfig`); the GitOps bootstrap fills these.
public struct InlineManifest: Sendable, Hashable {
    public var name: String
    public var contents: String

    public init(name: String, contents: String) {
        self.name = name
        self.contents = contents
    }
}
