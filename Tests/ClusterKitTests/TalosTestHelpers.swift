import ClusterKit
import ClusterTestSupport
import Foundation
import Testing

/// Shared by the Talos suites: reference files and tool gating (fail under CI=true, skip elsewhere).
enum TalosFixture {
    /// A file of the Talos reference data (`talos/<file>`); tests that call this carry
    /// `.requiresReference(...)` for it.
    static func reference(_ file: String) throws -> URL {
        try ReferenceData.require("talos/\(file)")
    }

    /// The bundle `talosctl gen secrets` wrote for talosctl's own stability tests: for tests that
    /// compare with talosctl's output or read its file format.
    static func referenceSecrets() throws -> SecretsBundle {
        try SecretsBundle(talosYAML: String(contentsOf: try ReferenceData.require(ReferenceData.talosSecrets), encoding: .utf8))
    }

    /// A bundle generated once per test process (Talos 1.13 algorithms, CAs valid from 2027-01-01
    /// for ten years): for tests that need some bundle, not talosctl's, so they run without the
    /// reference data.
    static func secrets() throws -> SecretsBundle { try generated.get() }

    private static let generated = Result { () throws(ClusterError) -> SecretsBundle in
        try SecretsBundle.generate(talosVersion: SemanticVersion(major: 1, minor: 13, patch: 9), now: Date(timeIntervalSince1970: 1_798_761_600))
    }

    /// The official schema for a contract; tests that call this carry `.requiresReference(...)`
    /// for both schemas.
    static func schema(for contract: ConfigContract) throws -> URL {
        try ReferenceData.require(contract == .classic ? ReferenceData.talosSchema13 : ReferenceData.talosSchema14)
    }

    /// True when the tool is there; otherwise records an issue under CI and returns false.
    static func require(_ available: Bool, _ what: String) -> Bool {
        if available { return true }
        if TalosTestSupport.isCI {
            Issue.record("\(what) is missing; .ci/setup.d/talos.sh installs it")
        } else {
            print("skipping: \(what) is not installed (run .ci/setup.d/talos.sh)")
        }
        return false
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("talos-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func mode(of url: URL) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: url.path)
        return (attributes[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    /// Writes text to a temporary file for openssl.
    static func file(_ text: String, in directory: URL, named name: String) throws -> URL {
        let url = directory.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    static func openssl(_ arguments: [String], input: String? = nil) throws -> TalosTestSupport.ToolResult {
        try TalosTestSupport.run("openssl", arguments, input: input.map { Data($0.utf8) })
    }

    static func decodeBase64(_ text: String?) throws -> String {
        let encoded = try #require(text)
        let data = try #require(Data(base64Encoded: encoded))
        return String(decoding: data, as: UTF8.self)
    }
}
