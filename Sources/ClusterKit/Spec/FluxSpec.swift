/// Which Flux components `up` commits and applies: a pinned release, a local file (air-gapped),
/// or both (the file is then checked against the pin).
///
/// The components manifest is what `flux install --export` prints for a version; bootstrap writes
/// it to `<path>/flux-system/gotk-components.yaml` (fluxcd/flux2 v2.9.4 `pkg/bootstrap`).
public struct FluxSpec: Sendable, Hashable {
    /// The Flux release, e.g. `v2.9.4`.
    public var version: String?
    /// SHA-256 (lowercase hex) of the components manifest for ``version``; required to download it.
    public var sha256: String?
    /// A local components manifest, already resolved against the spec file's directory.
    public var componentsFile: String?

    public init(version: String? = nil, sha256: String? = nil, componentsFile: String? = nil) {
        self.version = version
        self.sha256 = sha256
        self.componentsFile = componentsFile
    }

    /// `v` followed by dotted numbers, as Flux tags its releases (`v2.9.4`).
    static func isVersion(_ text: String) -> Bool {
        guard text.hasPrefix("v") else { return false }
        let parts = text.dropFirst().split(separator: ".", omittingEmptySubsequences: false)
        return (2...3).contains(parts.count) && parts.allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }
    }

    /// 64 lowercase hexadecimal digits.
    static func isSHA256(_ text: String) -> Bool {
        text.count == 64 && text.allSatisfy { ("0"..."9").contains($0) || ("a"..."f").contains($0) }
    }
}
