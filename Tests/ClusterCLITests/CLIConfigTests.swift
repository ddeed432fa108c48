import ClusterTestSupport
import Foundation
import Testing

/// `gen config` and `secrets import/export` through the binary.
@Suite struct CLIConfigTests {
    func mode(_ url: URL) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: url.path)[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    @Test func genConfigWritesEveryNodeAndClientConfigsPrivately() throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        let refused = try cli.run("gen", "config", "home", "--out", "out")
        #expect(refused.status == 2 && refused.stderr.contains("--endpoint-ip"), "\(refused.stderr)")

        #expect(try cli.run("up", "home", "--simulate").status == 0)
        let gen = try cli.run("gen", "config", "home", "--simulate", "--out", "out")
        #expect(gen.status == 0, "\(gen.stderr)")
        let out = cli.workDirectory.appendingPathComponent("out")
        let files = try FileManager.default.contentsOfDirectory(atPath: out.path).sorted()
        #expect(files == ["home-big-1.yaml", "home-big-2.yaml", "home-cloud-1.yaml", "home-cloud-2.yaml", "home-cp-1.yaml", "home-cp-2.yaml", "home-cp-home-1.yaml", "kubeconfig", "talosconfig"])
        for file in files { #expect(try mode(out.appendingPathComponent(file)) == 0o600, "\(file)") }
        let talosconfig = try cli.read("out/talosconfig")
        // Endpoints are the control planes' own addresses, never the floating IP.
        #expect(!talosconfig.contains("203.0.113.10") && talosconfig.contains("10.10.0."), "\(talosconfig)")
        let kubeconfig = try cli.read("out/kubeconfig")
        #expect(kubeconfig.contains("https://203.0.113.10:6443") && kubeconfig.contains("admin@home"))
        // The same spec and bundle give the same bytes.
        let first = try cli.read("out/home-cp-1.yaml")
        #expect(try cli.run("gen", "config", "home", "--simulate", "--out", "out").status == 0)
        #expect(try cli.read("out/home-cp-1.yaml") == first)
        #expect(!gen.stdout.contains("BEGIN") && !gen.stderr.contains("BEGIN"))
    }

    @Test(.requiresReference(ReferenceData.talosSecrets))
    func secretsImportExportRoundTripAndRefuseOverwrite() throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        let reference = try ReferenceData.require(ReferenceData.talosSecrets)
        let imported = try cli.run("secrets", "import", "home", reference.path)
        #expect(imported.status == 0, "\(imported.stderr)")
        let again = try cli.run("secrets", "import", "home", reference.path)
        #expect(again.status == 3 && again.stderr.contains("--force"), "\(again.stderr)")
        let exported = try cli.run("secrets", "export", "home", "exported.yaml")
        #expect(exported.status == 0)
        #expect(try mode(cli.workDirectory.appendingPathComponent("exported.yaml")) == 0o600)
        let original = try String(contentsOf: reference, encoding: .utf8)
        let roundTripped = try cli.read("exported.yaml")
        let strip = { (text: String) in text.split(separator: "\n").filter { !$0.hasPrefix("#") }.joined(separator: "\n") }
        #expect(strip(original) == strip(roundTripped))
        for output in [imported, exported] { #expect(!output.stdout.contains("PRIVATE KEY") && !output.stderr.contains("PRIVATE KEY")) }
    }
}
