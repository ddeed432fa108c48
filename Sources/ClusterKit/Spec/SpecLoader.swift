internal import Foundation
internal import Yams

/// Reads `clusters/<name>.yaml` strictly and validates it.
///
/// Everything wrong is reported in one ``SpecError``, each ``SpecDiagnostic`` naming file, line,
/// column and field path. Secrets are only references (`tokenEnv:`, `tokenFile:`); a literal
/// secret is an error.
public enum SpecLoader {
    /// The largest spec read. Real specs are a few kilobytes; the limit leaves room for generous
    /// inline patches while keeping a pasted blob from being parsed and echoed.
    static let maxBytes = 4 * 1024 * 1024

    /// Loads and validates the spec at `path`. Image definitions are looked up in `images/` next
    /// to the spec's directory (`clusters/../images`); an image that cannot be found there is an
    /// error, since the installer image reference would be empty.
    public static func load(path: String) throws(SpecError) -> LoadedSpec {
        // Looked at before reading: a device (/dev/zero) or a huge file would otherwise be read
        // whole, or forever.
        let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        if let attributes = try? FileManager.default.attributesOfItem(atPath: resolved) {
            let size = (attributes[.size] as? NSNumber)?.intValue ?? 0
            let problem: String? =
                attributes[.type] as? FileAttributeType != .typeRegular ? "is not a regular file"
                : size > maxBytes ? "is \(size) bytes; a spec is at most \(maxBytes) bytes" : nil
            if let problem {
                throw SpecError(diagnostics: [
                    SpecDiagnostic(severity: .error, file: path, line: 0, column: 0, path: "", message: "the spec file \(problem)", hint: "give the path of a cluster spec (.yaml)")
                ])
            }
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            let exists = FileManager.default.fileExists(atPath: path)
            throw SpecError(diagnostics: [
                SpecDiagnostic(
                    severity: .error, file: path, line: 0, column: 0, path: "",
                    message: exists ? "cannot read the spec file" : "no such spec file",
                    hint: exists ? "check its permissions" : "name a cluster under clusters/ (e.g. home) or give a path to a .yaml file")
            ])
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw SpecError(diagnostics: [
                SpecDiagnostic(severity: .error, file: path, line: 0, column: 0, path: "", message: "the spec file is not UTF-8 text")
            ])
        }
        let directory = (path as NSString).deletingLastPathComponent
        let images = ((directory.isEmpty ? "." : directory) as NSString).appendingPathComponent("../images")
        let standardized = (images as NSString).standardizingPath
        var isDirectory: ObjCBool = false
        let hasImages = FileManager.default.fileExists(atPath: standardized, isDirectory: &isDirectory) && isDirectory.boolValue
        let shown = URL(fileURLWithPath: standardized).standardizedFileURL.path
        return try load(yaml: text, file: path, imagesDirectory: hasImages ? standardized : nil, requireImage: shown)
    }

    /// Loads a spec from text. `file` is used in diagnostics and as the base for `file:` patch
    /// references; `imagesDirectory`, when given, is where `talos.image` must exist.
    /// `requireImage`, when given, is the images folder the spec expects: the image must then
    /// resolve to a schematic (when nil, as for specs built in tests, an unresolved image only
    /// leaves the schematic empty).
    ///
    /// After the spec itself is valid, every node's config is rendered in memory as `gen config`
    /// would (``SpecRenderCheck``), and what it would refuse is reported here.
    public static func load(yaml: String, file: String, imagesDirectory: String? = nil, requireImage: String? = nil) throws(SpecError) -> LoadedSpec {
        let walker = YAMLWalker(file: file)
        guard let root = walker.parse(yaml) else { throw SpecError(diagnostics: walker.sortedDiagnostics) }
        let directory = (file as NSString).deletingLastPathComponent
        let decoder = SpecDecoder(walker: walker, baseDirectory: directory.isEmpty ? "." : directory)
        var draft = decoder.decode(root)
        SpecValidator(walker: walker, draft: draft, imagesDirectory: imagesDirectory).validate()
        var image: ImageDefinition?
        if let name = draft.talos?.image, let imagesDirectory, SpecValidator.isImageName(name) {
            let imagePath = (imagesDirectory as NSString).appendingPathComponent("\(name).yaml")
            if FileManager.default.fileExists(atPath: imagePath) {
                do {
                    image = try ImageDefinition.load(path: imagePath)
                } catch {
                    for diagnostic in error.diagnostics { walker.report(diagnostic, mark: walker.mark(for: "talos.image"), path: "talos.image") }
                }
            }
        }
        if let expected = requireImage, let name = draft.talos?.image, SpecValidator.isImageName(name), !walker.hasErrors,
            image?.schematicID.isEmpty ?? true
        {
            walker.error(at: "talos.image", "image \(name) cannot be resolved: there is no image definition \(name).yaml in \(expected), so the installer image would have no schematic",
                hint: "create \(expected)/\(name).yaml (see images/default.yaml in the clusterctl repository); specs live in clusters/ with images/ beside it")
        }
        // The render check runs whenever the spec assembles, so one pass also names the patches a
        // contract refuses next to the spec's other errors; but not over a refused cluster name,
        // which every node name, config and certificate would carry (a 1 MiB name took 1.3 s).
        if var spec = assemble(&draft) {
            if let image { spec.talos.schematicID = image.schematicID }
            let nameRefused = walker.diagnostics.contains { $0.severity == .error && $0.path == "name" }
            if !nameRefused { SpecRenderCheck(spec: spec, draft: draft, walker: walker).run() }
            if !walker.hasErrors { return LoadedSpec(spec: spec, warnings: walker.sortedDiagnostics, file: file, image: image) }
        }
        throw SpecError(diagnostics: walker.sortedDiagnostics)
    }

    static func assemble(_ draft: inout SpecDraft) -> ClusterSpec? {
        guard let name = draft.name, let talos = draft.talos, let kubernetes = draft.kubernetes, let endpoint = draft.endpoint,
            let network = draft.network, draft.providersComplete, draft.poolsComplete
        else { return nil }
        var drills = draft.drills
        if var guards = drills?.guards, !draft.minReadyControlPlanesGiven {
            guards.minReadyControlPlanes = draft.pools.filter { $0.spec.role == .controlPlane }.reduce(0) { $0 + $1.spec.count }
            drills?.guards = guards
        }
        return ClusterSpec(
            name: name, talos: talos, kubernetes: kubernetes, endpoint: endpoint, network: network,
            providers: draft.providers.map(\.spec), pools: draft.pools.map(\.spec), gitops: draft.gitops,
            failover: draft.failover, drills: drills)
    }

    /// The spec file for a command-line argument: a path when it contains '/' or ends in
    /// `.yaml`/`.yml`, otherwise `<clustersDirectory>/<name>.yaml` (or `.yml` when only that exists).
    public static func resolve(_ nameOrPath: String, clustersDirectory: String) -> String {
        if nameOrPath.contains("/") || nameOrPath.hasSuffix(".yaml") || nameOrPath.hasSuffix(".yml") { return nameOrPath }
        let yaml = (clustersDirectory as NSString).appendingPathComponent("\(nameOrPath).yaml")
        let yml = (clustersDirectory as NSString).appendingPathComponent("\(nameOrPath).yml")
        if !FileManager.default.fileExists(atPath: yaml) && FileManager.default.fileExists(atPath: yml) { return yml }
        return yaml
    }
}

extension YAMLWalker {
    /// Re-reports a diagnostic from another file (an image definition) at a place in this one,
    /// keeping the other file's position in the message.
    func report(_ diagnostic: SpecDiagnostic, mark: Mark?, path: String) {
        let place = diagnostic.line > 0 ? "\(diagnostic.file):\(diagnostic.line):\(diagnostic.column)" : diagnostic.file
        let field = diagnostic.path.isEmpty ? "" : "\(diagnostic.path): "
        report(diagnostic.severity, mark: mark, path, "in \(place): \(field)\(diagnostic.message)", hint: diagnostic.hint)
    }
}
