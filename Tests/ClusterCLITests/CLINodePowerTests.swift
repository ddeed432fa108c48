import ClusterTestSupport
import Foundation
import Testing

/// `clusterctl node power` through the real binary on the simulator: a drill's fault and its
/// repair from the command line, the state each step leaves, and the refusals.
@Suite struct CLINodePowerTests {
    static func power(_ document: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(document.utf8)) as? [String: Any])
    }

    static func node(_ cli: CLIHarness, _ name: String) throws -> [String: Any]? {
        let status = try cli.run("status", "home", "--simulate", "-o", "json")
        let nodes = try #require(try power(status.stdout)["nodes"] as? [[String: Any]])
        return nodes.first { $0["name"] as? String == name }
    }

    @Test func offStatusResetRefusedOn() throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        #expect(try cli.run("up", "home", "--simulate").status == 0)

        let before = try cli.run("node", "power", "home", "home-big-1", "status", "--simulate", "-o", "json")
        #expect(before.status == 0, "\(before.stderr)")
        let document = try Self.power(before.stdout)
        #expect(document["node"] as? String == "home-big-1")
        #expect(document["provider"] as? String == "workstation")
        #expect(document["power"] as? String == "on")

        let off = try cli.run("node", "power", "home", "home-big-1", "off", "--simulate")
        #expect(off.status == 0, "\(off.stderr)")
        #expect(off.stdout.contains("home-big-1: power off"), "\(off.stdout)")
        // The world remembers: the provider lists it stopped, and Talos is not running.
        let dark = try #require(try Self.node(cli, "home-big-1"))
        #expect(dark["machine"] as? String == "stopped")
        #expect(dark["talos"] as? String != "running")

        let reset = try cli.run("node", "power", "home", "home-big-1", "reset", "--simulate")
        #expect(reset.status == 3, "refused: \(reset.stderr)")
        #expect(reset.stderr.contains("home-big-1 is powered off, so it cannot be reset"), "\(reset.stderr)")
        #expect(reset.stderr.contains("hint: power it on"), "\(reset.stderr)")

        let on = try cli.run("node", "power", "home", "home-big-1", "on", "--simulate", "-o", "yaml")
        #expect(on.status == 0, "\(on.stderr)")
        // YAML 1.1 reads a bare `on` as true, so the encoder quotes it.
        #expect(on.stdout.contains("power: 'on'"), "\(on.stdout)")
        #expect(try Self.node(cli, "home-big-1")?["machine"] as? String != "stopped")
    }

    @Test func upAfterADrillPowersTheNodeBackOn() throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        #expect(try cli.run("up", "home", "--simulate").status == 0)
        #expect(try cli.run("node", "power", "home", "home-big-2", "off", "--simulate").status == 0)
        let up = try cli.run("up", "home", "--simulate")
        #expect(up.status == 0, "\(up.stderr)")
        #expect(up.stdout.contains("7 of 7 nodes Ready"), "\(up.stdout)")
        let after = try cli.run("node", "power", "home", "home-big-2", "status", "--simulate", "-o", "json")
        #expect(try Self.power(after.stdout)["power"] as? String == "on")
    }

    @Test func unknownNodeAndHiddenHelp() throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        #expect(try cli.run("up", "home", "--simulate").status == 0)
        let missing = try cli.run("node", "power", "home", "home-big-9", "off", "--simulate")
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("cluster home has no node home-big-9"), "\(missing.stderr)")
        #expect(missing.stderr.contains("home-big-1"), "the hint lists the nodes: \(missing.stderr)")

        let badVerb = try cli.run("node", "power", "home", "home-big-1", "pull", "--simulate")
        #expect(badVerb.status != 0)
        #expect(badVerb.stderr.contains("off"), "\(badVerb.stderr)")

        // Kept out of the listing, documented where asked for.
        let help = try cli.run("node", "--help")
        #expect(!help.stdout.contains("power"), "\(help.stdout)")
        let own = try cli.run("node", "power", "--help")
        #expect(own.stdout.contains("pulls the plug") && own.stdout.contains("Exit codes"), "\(own.stdout)")
    }
}
