import ClusterKit
import ClusterTestSupport
import Foundation
import Testing

/// One file of the hostile corpus in `HostileSpecs/`: a spec a careless or hostile user could
/// write, with the error it must get (`# expect:`) and where (`# at: line:column`).
struct HostileSpec: CustomTestStringConvertible, Sendable {
    var name: String
    var text: String
    var expect: String
    var position: String

    var testDescription: String { name }

    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("HostileSpecs")

    static let corpus: [HostileSpec] = {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return files.filter { $0.hasSuffix(".yaml") }.sorted().compactMap { file in
            guard let text = try? String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8) else { return nil }
            func header(_ key: String) -> String {
                text.split(separator: "\n").first { $0.hasPrefix("# \(key): ") }.map { String($0.dropFirst(key.count + 4)) } ?? ""
            }
            return HostileSpec(name: String(file.dropLast(5)), text: text, expect: header("expect"), position: header("at"))
        }
    }()
}

/// Hostile and impossible specs, each refused by the real binary with exit 2, at its place, with
/// bounded output free of control characters; and good specs still pass.
@Suite("Spec: hostile input through the binary")
struct HostileSpecTests {
    /// Far more than any one diagnostic needs, far less than an echoed megabyte.
    static let outputLimit = 16 * 1024

    /// Runs `clusterctl validate` on `text` as `clusters/<name>.yaml`, with the corpus' patch files.
    static func validate(_ name: String, _ text: String, arguments: [String] = []) throws -> CLIHarness.Output {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        let patches = cli.workDirectory.appendingPathComponent("clusters/patches")
        try FileManager.default.createDirectory(at: patches, withIntermediateDirectories: true)
        let source = HostileSpec.directory.appendingPathComponent("patches")
        for file in try FileManager.default.contentsOfDirectory(atPath: source.path) {
            try FileManager.default.copyItem(at: source.appendingPathComponent(file), to: patches.appendingPathComponent(file))
        }
        try cli.write("clusters/\(name).yaml", text)
        return try cli.run(["validate", "clusters/\(name).yaml"] + arguments)
    }

    /// No byte of the output may be a control character other than a newline.
    static func controlCharacters(in output: String) -> [Unicode.Scalar] {
        output.unicodeScalars.filter { $0 != "\n" && InputSanitizer.isUnsafe($0) }
    }

    @Test("the corpus covers every class of hostile input")
    func corpusIsThere() {
        let names = HostileSpec.corpus.map(\.name)
        for prefix in ["patch-", "patch-114-", "patch-file-", "gitops-", "ssh-", "libvirt-", "proxmox-", "count-", "cidr-", "tag-", "control-", "alias-", "deep-"] {
            #expect(names.contains { $0.hasPrefix(prefix) }, "no corpus file starts with \(prefix)")
        }
        #expect(HostileSpec.corpus.count >= 60)
        #expect(HostileSpec.corpus.allSatisfy { !$0.expect.isEmpty && $0.position.contains(":") })
    }

    @Test("hostile spec is refused at its place with exit 2 and clean, bounded output", arguments: HostileSpec.corpus)
    func refused(_ spec: HostileSpec) throws {
        let result = try Self.validate(spec.name, spec.text)
        #expect(result.status == 2, "exit \(result.status)\n\(result.stderr)")
        let lines = result.stderr.components(separatedBy: "\n")
        let place = "clusters/\(spec.name).yaml:\(spec.position): error:"
        let blocks = lines.indices.filter { lines[$0].hasPrefix(place) }.map { index in
            lines[index] + (index + 1 < lines.count && lines[index + 1].hasPrefix("  hint:") ? "\n" + lines[index + 1] : "")
        }
        #expect(blocks.contains { $0.contains(spec.expect) }, "no error at \(spec.position) says \(spec.expect):\n\(result.stderr)")
        #expect(result.stdout.utf8.count + result.stderr.utf8.count < Self.outputLimit)
        #expect(Self.controlCharacters(in: result.stdout + result.stderr).isEmpty, "raw control characters in:\n\(result.stderr)")
        for secret in ["SECRET", "LS0tLS1CRUdJTiBFQyBQUklWQVRFIEtFWS0tLS0tCg", "d8cwfa.eyvpi0xwxyarbfid"] {
            #expect(!result.stderr.contains(secret) && !result.stdout.contains(secret), "the output echoes \(secret)")
        }
    }

    @Test("a megabyte-long name is echoed once, cut short")
    func megabyteName() throws {
        let name = String(repeating: "a", count: 1 << 20)
        let text = SpecFixtures.base(replacing: [1: "name: \(name)"])
        let result = try Self.validate("huge-name", text)
        #expect(result.status == 2)
        #expect(result.stderr.contains("huge-name.yaml:1:7: error: name:"), "\(result.stderr.prefix(2000))")
        #expect(result.stderr.utf8.count + result.stdout.utf8.count < Self.outputLimit, "\(result.stderr.utf8.count) bytes")
        #expect(result.stderr.contains("more characters)"))
        let longest = result.stderr.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(\.count).max() ?? 0
        #expect(longest < 200)
        #expect(result.stderr.components(separatedBy: String(repeating: "a", count: 64)).count == 2, "echoed more than once:\n\(result.stderr)")
    }

    @Test("a spec larger than the limit is refused without being parsed or echoed")
    func hugeFile() throws {
        let text = SpecFixtures.base + "# " + String(repeating: "x", count: 5 * 1024 * 1024) + "\n"
        let result = try Self.validate("huge-file", text)
        #expect(result.status == 2)
        #expect(result.stderr.contains("a spec is at most"))
        #expect(result.stderr.utf8.count < 1024)
    }

    @Test("a device or directory given as the spec is refused without reading it", arguments: ["/dev/zero", "/tmp"])
    func notAFile(_ path: String) throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        let result = try cli.run("validate", path)
        #expect(result.status == 2)
        #expect(result.stderr.contains("is not a regular file"), "\(result.stderr)")
    }

    @Test("a spec reached through a symbolic link still loads")
    func symlinkedSpec() throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        let link = cli.workDirectory.appendingPathComponent("clusters/linked.yaml")
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: cli.workDirectory.appendingPathComponent("clusters/home.yaml"))
        let result = try cli.run("validate", "clusters/linked.yaml")
        #expect(result.status == 0, "\(result.stderr)")
    }

    @Test("an image definition gets the same screening as the spec")
    func hostileImageDefinition() throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        try cli.write("images/default.yaml", "architecture: !!python/object:os.system amd64\n")
        let result = try cli.run("validate", "home")
        #expect(result.status == 2)
        #expect(result.stderr.contains("images/default.yaml:1:15") && result.stderr.contains("the YAML tag !!python/object:os.system is not allowed"), "\(result.stderr)")
    }

    @Test("thousands of unknown keys give a bounded report")
    func manyErrors() throws {
        let keys = (0..<5000).map { "bogus\($0): 1" }.joined(separator: "\n")
        let result = try Self.validate("many", SpecFixtures.base + keys + "\n")
        #expect(result.status == 2)
        #expect(result.stderr.contains("more errors not shown"))
        #expect(result.stderr.utf8.count < 64 * 1024)
    }

    @Test("JSON output of a refused spec is valid and masks credentials")
    func jsonOutput() throws {
        let spec = try #require(HostileSpec.corpus.first { $0.name == "gitops-https-credentials" })
        let result = try Self.validate(spec.name, spec.text, arguments: ["-o", "json"])
        #expect(result.status == 2)
        let document = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(document["valid"] as? Bool == false)
        #expect(!result.stdout.contains("SECRET"))
    }

    @Test("good specs still pass", arguments: ["home", "lab"])
    func goodExamples(_ name: String) throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        let result = try cli.run("validate", name)
        #expect(result.status == 0, "\(result.stderr)")
    }

    @Test("plain dates, floats and quoted strings are not mistaken for tags")
    func plainValuesPass() throws {
        let text = SpecFixtures.base(replacing: [38: "    size: {cpus: 8, memory: 32GiB}\n    labels: {example.net/since: 2026-01-01, example.net/ratio: \"1.5\"}\n    patches: [{machine: {sysctls: {vm.swappiness: !!str 10}}}]"])
        let result = try Self.validate("dates", text)
        #expect(result.status == 0, "\(result.stderr)")
    }

    /// The JSON patch adds the whole `machine.sysctls` map: RFC 6902 §4.1 wants an `add`'s
    /// parent to exist, and the rendered config has no sysctls, so Talos refuses a deeper path.
    @Test("legitimate patches pass on both contracts", arguments: ["v1.13.9", "v1.14.0"])
    func goodPatches(_ version: String) throws {
        let patch = version == "v1.13.9"
            ? "    patches:\n      - machine: {kubelet: {extraArgs: {max-pods: \"250\"}}, nodeLabels: {a: b}, install: {disk: /dev/vda}}\n      - op: add\n        path: /machine/sysctls\n        value: {vm.max_map_count: \"262144\"}"
            : "    patches:\n      - apiVersion: v1alpha1\n        kind: KubeletConfig\n        extraArgs: {max-pods: \"250\"}\n      - machine: {certSANs: [api.example.net]}"
        let text = SpecFixtures.base(replacing: [3: "  version: \(version)", 38: "    size: {cpus: 8, memory: 32GiB}\n" + patch])
        let result = try Self.validate("good", text)
        #expect(result.status == 0, "\(result.stderr)")
    }
}
