internal import Yams

/// A config patch as written in the spec or its patch file, kept with its YAML nodes so
/// ``PatchGuard`` can point at the very field that is wrong.
struct PatchSource {
    /// One document of a strategic-merge patch, or one operation of a JSON patch, with its field
    /// path (in the spec for inline patches, inside the file for `file:` patches).
    struct Part {
        var node: Node
        var path: String
    }

    var kind: ConfigPatch.Kind
    var parts: [Part]
    /// For `file:` patches: the file as the spec names it, and the spec node naming it (where
    /// diagnostics about the file are placed in the spec).
    var file: (name: String, reference: Node, referencePath: String)?
}
