import ClusterKit
import ClusterTestSupport
import Foundation
import Testing

@Suite("Talos YAML emitter")
struct TalosYAMLTests {
    static let awkward = [
        "", "true", "yes", "No", "ON", "null", "~", "1", "-7", "1.5", "1e3", ".5", "0x1F", "0o17", "1_000", "12:30", "2001-12-14",
        "- a", "a: b", "#c", "a #b", "  lead", "trail ", "multi\nline\n", "multi\nline", "  indented\nsecond", "x\n\n\ny\n",
        "ends\n\n", "tab\there", "quote\"s", "back\\slash", "ünïcode ✓", "10.0.0.1", "fd00::1", "v1.34.1", "168h0m0s",
        "@at", "*star", "&amp", "!bang", "%pct", "`tick", "{brace", "[bracket", "|pipe", ">gt", "'single", "?q", ":colon",
        "a:", ",comma", "-", "---", "...", "=", "<<", "https://k8s:6443", "bell\u{7}", "cr\r\n",
    ]

    static var tree: YAMLTree {
        .mapping([
            YAMLEntry("values", .mapping(awkward.enumerated().map { YAMLEntry("k\($0.offset)", .string($0.element)) })),
            YAMLEntry("keys", .mapping(awkward.enumerated().filter { !$0.element.isEmpty }.map { YAMLEntry($0.element, .int($0.offset)) })),
            YAMLEntry("list", .sequence(awkward.map(YAMLTree.string))),
        ])
    }

    @Test("awkward strings survive emit and parse unchanged")
    func roundTrip() throws {
        let text = Self.tree.emitted()
        #expect(try YAMLTree.parse(text) == Self.tree)
        #expect(Self.tree.emitted() == text)
    }

    @Test("a YAML 1.1 reader (PyYAML) reads the same strings back")
    func pythonReadsTheSame() throws {
        guard TalosFixture.require(TalosTestSupport.schemaValidatorAvailable, "python3 with PyYAML") else { return }
        let script = "import sys, yaml, json; print(json.dumps(yaml.safe_load(sys.stdin.read())['list']))"
        let result = try TalosTestSupport.run("python3", ["-c", script], input: Data(Self.tree.emitted().utf8))
        #expect(result.status == 0, "\(result.error)")
        let decoded = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String]
        #expect(decoded == Self.awkward)
    }
}
