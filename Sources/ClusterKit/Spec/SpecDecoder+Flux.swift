internal import Foundation
internal import Yams

extension SpecDecoder {
    /// `gitops.flux`: the pinned Flux release and/or a local components manifest.
    func flux(_ node: Node, _ path: String) -> FluxSpec? {
        guard let fields = walker.map(node, path, keys: ["version", "sha256", "componentsFile"], what: "gitops.flux") else { return nil }
        var failed = false
        let version = fields.string("version")
        if let version, !FluxSpec.isVersion(version) {
            walker.error(fields.value("version"), fields.path("version"), "\"\(version)\" is not a Flux release tag",
                hint: "use the tag of a fluxcd/flux2 release, e.g. v2.9.4")
            failed = true
        }
        let sha256 = fields.string("sha256")
        if let sha256, !FluxSpec.isSHA256(sha256) {
            walker.error(fields.value("sha256"), fields.path("sha256"), "\"\(sha256)\" is not a SHA-256 digest",
                hint: "64 lowercase hex digits, as `sha256sum install.yaml` prints")
            failed = true
        }
        let file = fields.string("componentsFile").map(specRelative)
        if file == nil, fields.has("version") || fields.has("sha256"), version == nil || sha256 == nil, !failed {
            walker.error(node, path, "a Flux release is pinned with both version and sha256",
                hint: "add the missing field, or give componentsFile for an air-gapped manifest")
            failed = true
        }
        if file == nil, version == nil, !failed {
            walker.error(node, path, "gitops.flux names no components",
                hint: "pin a release (`version: v2.9.4` and `sha256: ...`) or give `componentsFile: flux/gotk-components.yaml`")
            failed = true
        }
        return failed ? nil : FluxSpec(version: version, sha256: sha256, componentsFile: file)
    }

    /// A path relative to the spec file's directory (as `file:` patches are); absolute and
    /// `~/` paths stay as written.
    func specRelative(_ path: String) -> String {
        path.hasPrefix("/") || path.hasPrefix("~") ? path : (baseDirectory as NSString).appendingPathComponent(path)
    }
}
