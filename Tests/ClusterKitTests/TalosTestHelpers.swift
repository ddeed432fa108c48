import ClusterKit
import ClusterTestSupport
import Foundation
import Testing

/// Shared by the Talos suites: reference files and tool gating (fail under CI=true, skip elsewhere).
enum TalosFixture {
    static func reference() throws -> URL {
        try #require(TalosTestSupport.referenceDirectory(), "../shared/reference/talos not found; set CLUSTERCTL_REFERENCE_DIR")
    }

    static func referenceSecrets() throws -> SecretsBundle {
        let text = try String(contentsOf: try reference().appendingPathComponent("examples/secrets.yaml"), encoding: .utf8)
        return try SecretsBundle(talosYAML: text)
    }

    static func schema(for contract: ConfigContract) throws -> URL {
        try reference().appendingPathComponent(contract == .classic ? "config.v1.13.schema.json" : "config.v1.14plus.schema.json")
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
