import ClusterTestSupport
import Foundation
import Testing

/// The user's day through the real binary on the simulator: up, re-run, add a worker, status,
/// remove, crash and recover, down.
@Suite struct CLIEndToEndTests {
    @Test func upThenRerunIsANoOp() throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        let up = try cli.run("up", "home", "--simulate")
        #expect(up.status == 0, "\(up.stderr)")
        #expect(up.stdout.contains("home: 7 of 7 nodes Ready, etcd bootstrapped on home-cp-1, Flux installed, healthy"), "\(up.stdout)")
        #expect(up.stderr.contains("Plan: 7 to create, 0 to replace, 0 to delete; bootstrap etcd on home-cp-1; install Flux."))
        #expect(up.stderr.contains("home-cp-1        bootstrap bootstrapping etcd"))

        let plan = try cli.run("plan", "home", "--simulate")
        #expect(plan.status == 0)
        #expect(plan.stdout.contains("No changes: home matches its spec."), "\(plan.stdout)")

        let again = try cli.run("up", "home", "--simulate")
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stdout.contains("7 of 7 nodes Ready") && !again.stdout.contains("bootstrapped"), "\(again.stdout)")
        #expect(!again.stderr.contains("creating"))
    }

    @Test func addAWorkerThenRemoveIt() throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        #expect(try cli.run("up", "home", "--simulate").status == 0)
        let specBefore = try cli.read("clusters/home.yaml")

        let add = try cli.run("node", "add", "home", "--pool", "big", "--simulate")
        #expect(add.status == 0, "\(add.stderr)")
        #expect(add.stdout.contains("home: 1 of 1 nodes Ready"), "\(add.stdout)")
        let specAfter = try cli.read("clusters/home.yaml")
        // Only the count changed; comments and layout are kept.
        let changed = zip(specBefore.split(separator: "\n", omittingEmptySubsequences: false), specAfter.split(separator: "\n", omittingEmptySubsequences: false)).filter { $0 != $1 }
        #expect(changed.count == 1 && changed.first?.1.contains("count: 3") == true, "\(changed)")

        let status = try cli.run("status", "home", "--simulate", "-o", "json")
        #expect(status.status == 0)
        let document = try #require(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])
        let nodes = try #require(document["nodes"] as? [[String: Any]])
        #expect(nodes.count == 8)
        #expect(nodes.allSatisfy { $0["kubernetes"] as? String == "Ready" })
        #expect((document["drift"] as? [Any])?.isEmpty == true)
        #expect(nodes.contains { $0["name"] as? String == "home-big-3" })

        let table = try cli.run("status", "home", "--simulate")
        #expect(table.stdout.contains("home-big-3") && table.stdout.contains("No drift"), "\(table.stdout)")

        let remove = try cli.run("node", "remove", "home", "home-big-2", "--simulate")
        #expect(remove.status == 0, "\(remove.stderr)")
        #expect(try cli.read("clusters/home.yaml") == specBefore, "removing brings the count back to 2")
        let after = try cli.run("status", "home", "--simulate")
        #expect(!after.stdout.contains("home-big-2") && after.stdout.contains("home-big-3") && after.stdout.contains("No drift"), "\(after.stdout)")
    }

    @Test func crashMidRunThenRerunConverges() throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        let crashed = try cli.run("up", "home", "--simulate", "--inject", "crash:create:home-cp-2")
        #expect(crashed.status == 137, "\(crashed.stderr)")
        #expect(crashed.stderr.contains("simulated crash"))
        let status = try cli.run("status", "home", "--simulate")
        #expect(status.stdout.contains("home-cp-2"), "the machine created before the crash is there: \(status.stdout)")
        #expect(status.stdout.contains("Drift from the spec"))
        let rerun = try cli.run("up", "home", "--simulate")
        #expect(rerun.status == 0, "\(rerun.stderr)")
        #expect(rerun.stdout.contains("7 of 7 nodes Ready"))
        #expect(!rerun.stderr.contains("home-cp-2        machines  creating"), "home-cp-2 was not created twice")
    }

    @Test func faultsAreRetriedAndReportedAsJSONEvents() throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        let up = try cli.run("up", "home", "--simulate", "--inject", "ratelimit:create:hcloud*3", "--inject", "5xx:status*2", "-o", "json")
        #expect(up.status == 0, "\(up.stderr)")
        let lines = up.stdout.split(separator: "\n").map { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(lines.allSatisfy { $0 != nil }, "every stdout line is JSON")
        #expect(lines.first??["type"] as? String == "plan")
        #expect(lines.last??["type"] as? String == "report")
        #expect(lines.last??["healthy"] as? Bool == true)
        let retries = lines.compactMap { $0 }.filter { $0["kind"] as? String == "retrying" }
        #expect(retries.count >= 3)
    }

    @Test func untilMachinesStopsCleanly() throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        let up = try cli.run("up", "home", "--simulate", "--until", "machines")
        #expect(up.status == 0, "\(up.stderr)")
        #expect(up.stdout.contains("stopped after machines as asked"))
        #expect(!up.stderr.contains("bootstrapping etcd"))
        let status = try cli.run("status", "home", "--simulate")
        #expect(status.stdout.contains("etcd not bootstrapped"), "\(status.stdout)")
    }

    @Test func downNeedsConfirmationThenDestroysEverything() throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        #expect(try cli.run("up", "home", "--simulate").status == 0)
        let refused = try cli.run("down", "home", "--simulate")
        #expect(refused.status == 3)
        #expect(refused.stderr.contains("pass --yes"))
        #expect(try cli.run("status", "home", "--simulate").stdout.contains("home-cp-1"))
        let down = try cli.run("down", "home", "--simulate", "--yes")
        #expect(down.status == 0, "\(down.stderr)")
        #expect(down.stdout.contains("7 of 7 machines deleted"))
        let status = try cli.run("status", "home", "--simulate")
        #expect(status.stdout.contains("No machines of cluster home exist."), "\(status.stdout)")
        // And it comes back up from nothing.
        let up = try cli.run("up", "home", "--simulate")
        #expect(up.status == 0 && up.stdout.contains("etcd bootstrapped on home-cp-1"), "\(up.stdout)")
    }

    @Test func secretsAreStoredPrivatelyAndNeverPrinted() throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        let up = try cli.run("up", "home", "--simulate", "-o", "json")
        #expect(up.status == 0)
        let bundle = cli.home.appendingPathComponent("home/simulator/secrets.yaml")
        let attributes = try FileManager.default.attributesOfItem(atPath: bundle.path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let text = try String(contentsOf: bundle, encoding: .utf8)
        let token = try #require(text.split(separator: "\n").first { $0.contains("bootstraptoken:") }?.split(separator: ":").last?.trimmingCharacters(in: .whitespaces))
        #expect(!token.isEmpty)
        for output in [up.stdout, up.stderr] {
            #expect(!output.contains(token))
            #expect(!output.contains("PRIVATE KEY"))
        }
    }

    @Test func badSpecsFailWithPositionAndExitTwo() throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        var spec = try cli.read("clusters/home.yaml")
        spec = spec.replacingOccurrences(of: "    provider: workstation\n    count: 2", with: "    provider: workstaton\n    count: 2")
        try cli.write("clusters/broken.yaml", spec.replacingOccurrences(of: "name: home\n", with: "name: broken\n"))
        let result = try cli.run("validate", "broken")
        #expect(result.status == 2)
        #expect(result.stderr.contains("clusters/broken.yaml:"), "\(result.stderr)")
        #expect(result.stderr.contains("workstaton"), "\(result.stderr)")
        let up = try cli.run("up", "broken", "--simulate")
        #expect(up.status == 2)
        #expect(!FileManager.default.fileExists(atPath: cli.home.appendingPathComponent("broken").path), "nothing was created for a bad spec")
        let missing = try cli.run("plan", "nosuch", "--simulate")
        #expect(missing.status == 2 && missing.stderr.contains("no such spec file"), "\(missing.stderr)")
        let badFault = try cli.run("up", "home", "--simulate", "--inject", "explode:create")
        #expect(badFault.status == 2 && badFault.stderr.contains("unknown kind"), "\(badFault.stderr)")
    }
}
