import ClusterTestSupport
import Foundation
import Testing

/// `scripts/fetch-reference.sh`, exercised offline through `--from` (no network here): the same
/// conversion, SHA-256 check and atomic write a download goes through.
@Suite struct FetchReferenceScriptTests {
    struct Entry {
        var target: String
        var url: String
        var conversion: String
    }

    static let script = CLIHarness.packageRoot().appendingPathComponent("scripts/fetch-reference.sh")

    static func run(_ arguments: [String]) throws -> TalosTestSupport.ToolResult {
        try TalosTestSupport.run("bash", [script.path] + arguments)
    }

    static func manifest() throws -> [Entry] {
        let listed = try run(["--list"])
        #expect(listed.status == 0, "\(listed.error)")
        return listed.output.split(separator: "\n").map { line in
            let fields = line.split(separator: "\t").map(String.init)
            return Entry(target: fields[0], url: fields.count > 1 ? fields[1] : "", conversion: fields.count > 2 ? fields[2] : "")
        }
    }

    static func scratch() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("fetch-reference-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test("every reference file is pinned to a raw GitHub URL with a recorded hash")
    func manifestCoversTheTests() throws {
        let entries = try Self.manifest()
        #expect(Set(entries.map(\.target)) == Set(ReferenceData.allFiles))
        #expect(entries.count == ReferenceData.allFiles.count)
        for entry in entries {
            #expect(entry.url.hasPrefix("https://raw.githubusercontent.com/"), "\(entry.target): \(entry.url)")
            #expect(!entry.url.contains("/main/") && !entry.url.contains("/master/"), "\(entry.target) is pinned, not on a branch")
        }
    }

    @Test("a file whose hash differs is refused, named, and nothing is written")
    func mismatchRefused() throws {
        let work = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: work) }
        let source = work.appendingPathComponent("src/hetzner")
        try FileManager.default.createDirectory(at: source, withIntermediateDirectories: true)
        try Data("{\"openapi\": \"3.1.0\"}\n".utf8).write(to: source.appendingPathComponent("cloud.spec.json"))
        let destination = work.appendingPathComponent("out")
        let result = try Self.run(["--from", work.appendingPathComponent("src").path, "--dest", destination.path])
        #expect(result.status == 1)
        #expect(result.error.contains("hetzner/cloud.spec.json: sha256") && result.error.contains("nothing written"), "\(result.error)")
        #expect(result.error.contains("talos/config.v1.13.schema.json: could not read"), "absent sources are named too")
        let written = FileManager.default.enumerator(atPath: destination.path)?.allObjects.compactMap { $0 as? String } ?? []
        #expect(written.allSatisfy { !$0.hasSuffix(".json") && !$0.hasSuffix(".yaml") && !$0.contains(".download.") && !$0.contains(".staged.") },
            "\(written)")
    }

    @Test(
        "from upstream-shaped copies the script reproduces the reference data byte for byte, Proxmox's JavaScript converted",
        .requiresReference(files: ReferenceData.allFiles))
    func reproducesReference() throws {
        let work = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: work) }
        let source = work.appendingPathComponent("src")
        for entry in try Self.manifest() {
            let stored = try ReferenceData.require(entry.target)
            var name = entry.target
            if entry.conversion == "proxmox-apidata" { name = "proxmox/apidata.js" }
            let copy = source.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: copy.deletingLastPathComponent(), withIntermediateDirectories: true)
            if entry.conversion == "proxmox-apidata" {
                // Shaped as pve-docs publishes it: `const apiSchema = [` with Perl's JSON pretty
                // printer (three-space indent, " : "), then "\n;\n".
                let wrap = try TalosTestSupport.run("python3", [
                    "-c",
                    "import json,sys; d=json.load(open(sys.argv[1])); open(sys.argv[2],'w').write('const apiSchema = '+json.dumps(d,indent=3,separators=(',',' : '))+'\\n;\\n\\n')",
                    stored.path, copy.path,
                ])
                #expect(wrap.status == 0, "\(wrap.error)")
            } else {
                try FileManager.default.copyItem(at: stored, to: copy)
            }
        }
        let destination = work.appendingPathComponent("out")
        let result = try Self.run(["--from", source.path, "--dest", destination.path])
        #expect(result.status == 0, "\(result.output)\(result.error)")
        #expect(result.output.contains("proxmox/apidata.json") && result.output.contains("converted: proxmox-apidata"))
        for entry in try Self.manifest() {
            let fetched = try Data(contentsOf: destination.appendingPathComponent(entry.target))
            #expect(fetched == (try Data(contentsOf: try ReferenceData.require(entry.target))), "\(entry.target)")
        }
        // A second run verifies what is there and fetches nothing.
        let again = try Self.run(["--from", source.path, "--dest", destination.path])
        #expect(again.status == 0 && again.output.contains("0 fetched"), "\(again.output)")
    }
}
