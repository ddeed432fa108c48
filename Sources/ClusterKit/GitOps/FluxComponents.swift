import Crypto
import Foundation

/// A Flux components manifest (`gotk-components.yaml`), with the version and component list read
/// from its own header.
///
/// `flux install --export` and bootstrap start the file with `install.GetGenWarning` (fluxcd/flux2
/// v2.9.4 `pkg/manifestgen/install`): `# Flux Version: v2.9.4` and `# Components: a,b,...`. A
/// manifest without that header (the release's `install.yaml` is plain `kustomize build` output)
/// is dated by the `app.kubernetes.io/version` label Flux puts on every object.
public struct FluxComponents: Sendable, Hashable {
    /// The manifest, byte for byte as committed.
    public let manifest: String
    /// The Flux release it belongs to, e.g. `v2.9.4`.
    public let version: String
    /// The controllers listed in the header; empty when the manifest has no header.
    public let components: [String]
    /// SHA-256 of the manifest, lowercase hex.
    public let sha256: String

    /// Parses a manifest read from `origin` (a file path or URL, for messages).
    public init(manifest: String, origin: String) throws(ClusterError) {
        var version: String?
        var components: [String] = []
        var labelVersion: String?
        for line in manifest.split(separator: "\n", omittingEmptySubsequences: false).prefix(4000) {
            if version == nil, let value = Self.value(of: "# Flux Version:", in: line) { version = value }
            if components.isEmpty, let value = Self.value(of: "# Components:", in: line) {
                components = value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            }
            if labelVersion == nil, let value = Self.value(of: "app.kubernetes.io/version:", in: line.drop { $0 == " " }) {
                labelVersion = value.trimmingCharacters(in: CharacterSet(charactersIn: "\"'"))
            }
            if version != nil && !components.isEmpty { break }
        }
        guard let found = version ?? labelVersion, FluxSpec.isVersion(found) else {
            throw ClusterError(.invalidSpec, "\(origin) is not a Flux components manifest: it names no Flux version",
                hint: "use the output of `flux install --export` (its header reads `# Flux Version: v2.x.y`)")
        }
        guard manifest.contains("kind: CustomResourceDefinition") && manifest.contains("kind: Deployment") else {
            throw ClusterError(.invalidSpec, "\(origin) holds no Flux CRDs or controllers",
                hint: "use the output of `flux install --export` for \(found)")
        }
        self.manifest = manifest
        self.version = found
        self.components = components
        self.sha256 = Self.digest(Array(manifest.utf8))
    }

    /// One line for a person: `Flux v2.9.4 (source-controller, ...), sha256 97da4654...`.
    public var summary: String {
        let list = components.isEmpty ? "" : " (\(components.joined(separator: ", ")))"
        return "Flux \(version)\(list), components manifest sha256 \(sha256)"
    }

    /// Checks the manifest against a pinned version and digest; a mismatch names both values.
    public func verify(version expected: String?, sha256 expectedDigest: String?, origin: String) throws(ClusterError) {
        if let expectedDigest, expectedDigest != sha256 {
            throw ClusterError(.refused, "\(origin) has SHA-256 \(sha256), not the pinned \(expectedDigest)",
                hint: "the file differs from the release that was pinned; fetch it again or update gitops.flux.sha256 after checking it")
        }
        if let expected, expected != version {
            throw ClusterError(.refused, "\(origin) is Flux \(version), but gitops.flux.version pins \(expected)",
                hint: "use the components of \(expected), or change gitops.flux.version")
        }
    }

    /// SHA-256 of `bytes` as lowercase hex.
    public static func digest(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }

    private static func value(of prefix: String, in line: Substring) -> String? {
        guard line.hasPrefix(prefix) else { return nil }
        return line.dropFirst(prefix.count).trimmingCharacters(in: .whitespaces)
    }
}
