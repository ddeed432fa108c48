public import Foundation
public import Testing

/// Upstream reference data the tests check against (Talos schemas and talosctl output, Hetzner's
/// OpenAPI document, Proxmox's API description, Flux's CRDs and bootstrap files), found in one
/// place for every test target.
///
/// Each file is looked up, in order, under:
/// 1. `$CLUSTERCTL_REFERENCE_DIR`;
/// 2. `../shared/reference`, walking up from the package;
/// 3. `.reference/` at the package root, which `bash scripts/fetch-reference.sh` fills (pinned
///    upstream versions, SHA-256 checked).
///
/// A test that needs a file carries ``Testing/Trait/requiresReference(_:)``: without the file it
/// is reported as skipped with the reason and the fix, except under `CI=true`, where it runs and
/// fails naming what is missing (CI never skips).
public enum ReferenceData {
    /// The folder `scripts/fetch-reference.sh` writes to, at the package root.
    public static let fetchedFolder = ".reference"

    /// The command that fills ``fetchedFolder``.
    public static let fetchCommand = "bash scripts/fetch-reference.sh"

    /// Candidate roots, in lookup order.
    public static func roots(
        environment: [String: String] = ProcessInfo.processInfo.environment, filePath: String = #filePath
    ) -> [URL] {
        var roots: [URL] = []
        if let dir = environment["CLUSTERCTL_REFERENCE_DIR"], !dir.isEmpty { roots.append(URL(fileURLWithPath: dir)) }
        var current = URL(fileURLWithPath: filePath).deletingLastPathComponent()
        while current.path != "/" {
            let candidate = current.appendingPathComponent("../shared/reference").standardizedFileURL
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDirectory), isDirectory.boolValue {
                roots.append(candidate)
                break
            }
            current.deleteLastPathComponent()
        }
        roots.append(CLIHarness.packageRoot(from: filePath).appendingPathComponent(fetchedFolder))
        return roots
    }

    /// The file at `relativePath` (e.g. `talos/examples/secrets.yaml`) under the first root that
    /// has it, or nil.
    public static func url(_ relativePath: String) -> URL? {
        roots().lazy.map { $0.appendingPathComponent(relativePath) }.first { FileManager.default.fileExists(atPath: $0.path) }
    }

    /// The file at `relativePath`; throws, naming the file, where it was looked for and how to
    /// get it, when no root has it.
    public static func require(_ relativePath: String) throws -> URL {
        guard let url = url(relativePath) else { throw Missing(files: [relativePath]) }
        return url
    }

    /// The files of `relativePaths` that no root has.
    public static func missing(_ relativePaths: [String]) -> [String] {
        relativePaths.filter { url($0) == nil }
    }

    /// Every upstream file `scripts/fetch-reference.sh` provides (the SOURCE.md notes and facts
    /// files beside them in ../shared/reference are written there, not upstream, and tests do
    /// not read them).
    public static let allFiles = [
        talosSchema14, talosSchema13, talosSecrets,
        "talos/examples/v1.13-base-controlplane.yaml", "talos/examples/v1.13-base-worker.yaml",
        "talos/examples/v1.14-base-controlplane.yaml", "talos/examples/v1.14-base-worker.yaml",
        "talos/api/machine/machine.proto", "talos/api/common/common.proto", "talos/api/storage/storage.proto",
        "talos/api/vendor/google/rpc/status.proto",
        hetznerOpenAPI, "proxmox/apidata.json",
        "flux/crds/source.toolkit.fluxcd.io_gitrepositories.yaml", "flux/crds/kustomize.toolkit.fluxcd.io_kustomizations.yaml",
        "flux/bootstrap-layout/clusters/home/flux-system/gotk-sync.yaml",
        "flux/bootstrap-layout/clusters/home/flux-system/kustomization.yaml",
        "flux/bootstrap-layout/clusters/home/flux-system/gotk-components.yaml",
    ]

    public static let talosSecrets = "talos/examples/secrets.yaml"
    public static let talosSchema13 = "talos/config.v1.13.schema.json"
    public static let talosSchema14 = "talos/config.v1.14plus.schema.json"
    public static let hetznerOpenAPI = "hetzner/cloud.spec.json"

    public static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    /// Why a test that needs `files` does not run here, and how to fix it; nil when it runs.
    public static func skipReason(_ files: [String]) -> String? {
        let absent = missing(files)
        guard !absent.isEmpty else { return nil }
        return "needs upstream reference data (\(absent.joined(separator: ", "))); run `\(fetchCommand)` or set CLUSTERCTL_REFERENCE_DIR"
    }

    /// Reference data that is not there.
    public struct Missing: Error, CustomStringConvertible {
        public var files: [String]
        public var description: String {
            "reference data missing: \(files.joined(separator: ", ")); looked in \(ReferenceData.roots().map(\.path).joined(separator: ", ")). "
                + "Run `\(ReferenceData.fetchCommand)` (downloads pinned upstream files and checks their SHA-256) or set CLUSTERCTL_REFERENCE_DIR."
        }
    }
}

extension Trait where Self == ConditionTrait {
    /// Runs the test only where the reference `files` exist (see ``ReferenceData``); otherwise it
    /// is reported as skipped with the reason, except under `CI=true`, where it runs and fails.
    public static func requiresReference(_ files: String..., sourceLocation: SourceLocation = #_sourceLocation) -> Self {
        requiresReference(files: files, sourceLocation: sourceLocation)
    }

    /// ``requiresReference(_:sourceLocation:)`` for a list of files.
    public static func requiresReference(files: [String], sourceLocation: SourceLocation = #_sourceLocation) -> Self {
        let reason = ReferenceData.skipReason(files)
        return .enabled(
            if: reason == nil || ReferenceData.isCI,
            Comment(rawValue: reason ?? "reference data present"), sourceLocation: sourceLocation)
    }
}
