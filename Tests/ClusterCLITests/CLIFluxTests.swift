import ClusterTestSupport
import Foundation
import Testing

/// Flux through the binary: `up --simulate` ends with Flux ready at a revision, `status` shows
/// it, a second `up` finds it there, and `--force` is offered for re-pointing.
@Suite(.serialized) struct CLIFluxTests {
    @Test func upEndsWithFluxReadyAndStatusShowsTheRevision() throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        let up = try cli.run("up", "home", "--simulate")
        #expect(up.status == 0, "\(up.stderr)")
        #expect(up.stderr.contains("Ready at main@sha1:"), "\(up.stderr)")

        let json = try cli.run("status", "home", "--simulate", "-o", "json")
        #expect(json.status == 0, "\(json.stderr)")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(document["flux_ready"] as? Bool == true)
        let revision = try #require(document["flux_revision"] as? String)
        #expect(revision.hasPrefix("main@sha1:") && revision.count == "main@sha1:".count + 40)

        let table = try cli.run("status", "home", "--simulate")
        #expect(table.stdout.contains("Flux ready at main@sha1:\(revision.suffix(40).prefix(8))"), "\(table.stdout)")

        // A second up still runs the installer, which finds nothing to change.
        let again = try cli.run("up", "home", "--simulate")
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stderr.contains("Flux already at \(revision)"), "\(again.stderr)")
        #expect(!again.stdout.contains("Flux installed"), "\(again.stdout)")
    }

    @Test func aChangedGitOpsPathNeedsForce() throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        #expect(try cli.run("up", "home", "--simulate").status == 0)
        let spec = try cli.read("clusters/home.yaml")
        let moved = spec.replacingOccurrences(of: "path: clusters/home", with: "path: clusters/elsewhere")
        try #require(moved != spec, "the harness spec names path clusters/home")
        try cli.write("clusters/home.yaml", moved)

        let refused = try cli.run("up", "home", "--simulate")
        #expect(refused.status != 0)
        #expect((refused.stdout + refused.stderr).contains("clusterctl up home --force"), "\(refused.stderr)")
        #expect(try cli.run("status", "home", "--simulate").stdout.contains("points at clusters/home, spec says clusters/elsewhere"))

        let forced = try cli.run("up", "home", "--simulate", "--force")
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(try cli.run("status", "home", "--simulate").stdout.contains("Flux ready at main@sha1:"))
    }

    @Test func upOffersForceWithAnExample() throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        let help = try cli.run("up", "--help")
        #expect(help.stdout.contains("--force") && help.stdout.contains("clusterctl up home --force"), "\(help.stdout)")
    }
}
