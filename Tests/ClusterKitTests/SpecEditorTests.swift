import ClusterKit
import Foundation
import Testing

@Suite("Spec: editing pool counts in place")
struct SpecEditorTests {
    var homeText: String {
        get throws { try String(contentsOfFile: SpecFixtures.repositoryRoot + "/clusters/home.yaml", encoding: .utf8) }
    }

    @Test("changing a count keeps every other byte, comments included")
    func keepsComments() throws {
        let original = try homeText
        let edited = try SpecEditor.settingPoolCount(5, pool: "big", in: original, file: "clusters/home.yaml")
        let before = original.components(separatedBy: "\n")
        let after = edited.components(separatedBy: "\n")
        #expect(before.count == after.count)
        let changed = zip(before, after).enumerated().filter { $0.element.0 != $0.element.1 }
        #expect(changed.count == 1)
        let line = try #require(changed.first)
        #expect(line.element.0 == "    count: 2")
        #expect(line.element.1 == "    count: 5")
        // It is the big pool's count that changed, and the result still loads.
        let loaded = try SpecLoader.load(yaml: edited, file: "clusters/home.yaml")
        #expect(loaded.spec.pool(named: "big")?.count == 5)
        #expect(loaded.spec.pool(named: "cloud")?.count == 2)
        #expect(edited.contains("# home-big-1 has the GPU passed through; label it so GPU workloads land there."))
    }

    @Test("a count in a flow mapping, with a comment after it and non-ASCII before it")
    func flowMappingAndUnicode() throws {
        let text = "# Größe 🙂\npools:\n  - {name: a, count: 12} # zwölf\n  - name: b\n    count: 3   # drei\n"
        let edited = try SpecEditor.settingPoolCount(7, pool: "a", in: text, file: "x.yaml")
        #expect(edited == "# Größe 🙂\npools:\n  - {name: a, count: 7} # zwölf\n  - name: b\n    count: 3   # drei\n")
        let again = try SpecEditor.settingPoolCount(10, pool: "b", in: edited, file: "x.yaml")
        #expect(again == "# Größe 🙂\npools:\n  - {name: a, count: 7} # zwölf\n  - name: b\n    count: 10   # drei\n")
    }

    @Test("an unknown pool is an error with a suggestion")
    func unknownPool() throws {
        let error = try #require(throws: ClusterError.self) {
            try SpecEditor.settingPoolCount(1, pool: "bgi", in: try homeText, file: "clusters/home.yaml")
        }
        #expect(error.code == .notFound)
        #expect(error.hint?.contains(#"did you mean "big"?"#) == true)
    }

    @Test("the file is rewritten atomically with its mode kept")
    func writesFile() throws {
        // clusters/ with images/ beside it, as in the repository.
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("editor-\(UUID().uuidString)")
        let directory = base.appendingPathComponent("clusters")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: base) }
        try FileManager.default.copyItem(
            at: URL(fileURLWithPath: SpecFixtures.repositoryRoot).appendingPathComponent("images"), to: base.appendingPathComponent("images"))
        let path = directory.appendingPathComponent("home.yaml").path
        let original = try homeText
        try original.write(toFile: path, atomically: false, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: path)
        try SpecEditor.setPoolCount(3, pool: "cloud", path: path)
        let written = try String(contentsOfFile: path, encoding: .utf8)
        #expect(written.utf8.count == original.utf8.count)
        #expect(try SpecLoader.load(path: path).spec.pool(named: "cloud")?.count == 3)
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o640)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["home.yaml"])
    }
}
