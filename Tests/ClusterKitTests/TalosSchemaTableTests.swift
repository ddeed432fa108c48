import ClusterKit
import ClusterTestSupport
import Foundation
import Testing

/// The embedded schema table is what the generator makes from the official schemas, and it
/// reads as the schemas say.
@Suite("Spec: the Talos schema table")
struct TalosSchemaTableTests {
    @Test(
        "TalosSchemaPaths.swift is regenerated from ../shared/reference/talos unchanged",
        .requiresReference(ReferenceData.talosSchema13, ReferenceData.talosSchema14))
    func tableIsCurrent() throws {
        let reference = try TalosFixture.schema(for: .classic).deletingLastPathComponent()
        guard TalosFixture.require(FileManager.default.isExecutableFile(atPath: "/usr/bin/python3"), "python3") else { return }
        let root = CLIHarness.packageRoot()
        let output = try TalosFixture.temporaryDirectory().appendingPathComponent("TalosSchemaPaths.swift")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [root.appendingPathComponent("scripts/gen-talos-schema-paths.py").path, reference.path, output.path]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let generated = try String(contentsOf: output, encoding: .utf8)
        let committed = try String(contentsOf: root.appendingPathComponent("Sources/ClusterKit/Spec/TalosSchemaPaths.swift"), encoding: .utf8)
        #expect(generated == committed, "run python3 scripts/gen-talos-schema-paths.py and commit the result")
    }

    @Test("fields, open subtrees and contracts resolve as in the schemas")
    func lookups() throws {
        let cases: [(String, String, Bool)] = [
            ("v1.13.9", "machine:\n  kubelet:\n    extraConfig: {anything: {goes: here}}\n", true),
            ("v1.13.9", "machine:\n  sysctls: {net.core.somaxconn: \"1\"}\n  files: [{path: /var/a, op: create, content: x, permissions: 0o644}]\n", true),
            ("v1.13.9", "machine:\n  files: [{path: /var/a, mode: 1}]\n", false),
            ("v1.14.0", "apiVersion: v1alpha1\nkind: KubeNetworkConfig\npodSubnets: [10.244.0.0/16]\n", true),
            ("v1.14.0", "apiVersion: v1alpha1\nkind: KubeNetworkConfig\npodSubnet: [10.244.0.0/16]\n", false),
            ("v1.14.0", "machine:\n  kubelet: {image: x}\n", false),
        ]
        for (version, patch, valid) in cases {
            let indented = patch.split(separator: "\n").map { "        " + $0 }.joined(separator: "\n")
            let text = SpecFixtures.base(replacing: [3: "  version: \(version)", 38: "    size: {cpus: 8, memory: 32GiB}\n    patches:\n      -\n" + indented])
            do {
                _ = try SpecLoader.load(yaml: text, file: "clusters/t.yaml")
                #expect(valid, "\(patch) on \(version) was accepted")
            } catch {
                #expect(!valid, "\(patch) on \(version): \(error)")
            }
        }
    }
}
