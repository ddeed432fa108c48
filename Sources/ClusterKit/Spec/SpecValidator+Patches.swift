extension SpecValidator {
    /// Runs ``PatchGuard`` over every patch that decoded, against the schema of the spec's Talos
    /// version (owned fields are refused even when the version is unreadable).
    func validatePatchContents() {
        let version = draft.talos?.version
        let patchGuard = PatchGuard(
            walker: walker, contract: version.map(ConfigContract.init(talosVersion:)), talosLabel: version.map { "Talos \($0)" } ?? "Talos")
        let multiDocument = version.map { ConfigContract(talosVersion: $0) == .multiDocument } ?? false
        // JSON patches on 1.14+ are already refused whole by validatePatchKinds.
        for source in draft.patchSources where !(multiDocument && source.kind == .jsonPatch) {
            patchGuard.check(source)
        }
    }
}
