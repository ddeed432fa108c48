import ClusterKit
import ClusterTestSupport
import Foundation
import Provisioners
import Testing

/// `clusterctl failover` through the real binary on the simulator.
@Suite struct CLIFailoverTests {
    /// Loses a node in the saved simulated world, as a dead host would between two commands.
    static func lose(_ node: String, in cli: CLIHarness) throws {
        let store = SimulatorStore(directory: cli.home.appendingPathComponent("home/simulator"))
        let world = SimulatedWorld(state: try store.load(seed: 1)) { _ in }
        world.lose(node)
        try store.save(world.snapshot())
    }

    @Test func aLostControlPlaneIsReplacedFromTheCommandLine() throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        #expect(try cli.run("up", "home", "--simulate").status == 0)

        let healthy = try cli.run("failover", "home", "controlplane-lost", "home-cp-1", "--simulate")
        #expect(healthy.status == 0, "\(healthy.stderr)")
        #expect(healthy.stdout.contains("nothing-to-do: home-cp-1 is healthy"), "\(healthy.stdout)")

        try Self.lose("home-cp-2", in: cli)
        let dryRun = try cli.run("failover", "home", "controlplane-lost", "home-cp-2", "--simulate", "--dry-run")
        #expect(dryRun.status == 0, "\(dryRun.stderr)")
        #expect(dryRun.stdout.contains("would take 6 steps"), "\(dryRun.stdout)")
        #expect(dryRun.stdout.contains("2. remove-etcd-member"), "\(dryRun.stdout)")

        let wrongPlaybook = try cli.run("failover", "home", "worker-lost", "home-cp-2", "--simulate")
        #expect(wrongPlaybook.status == 3, "\(wrongPlaybook.stdout) \(wrongPlaybook.stderr)")
        #expect(wrongPlaybook.stdout.contains("use the controlplane-lost playbook"), "\(wrongPlaybook.stdout)")

        let run = try cli.run("failover", "home", "controlplane-lost", "home-cp-2", "--simulate", "-o", "json")
        #expect(run.status == 0, "\(run.stderr)")
        let lines = run.stdout.split(separator: "\n").map(String.init)
        let report = try #require(try JSONSerialization.jsonObject(with: Data((lines.last ?? "").utf8)) as? [String: Any])
        #expect(report["outcome"] as? String == "completed", "\(report)")
        let steps = try #require(report["steps"] as? [[String: Any]])
        #expect(steps.map { $0["action"] as? String } == ["confirm-lost", "remove-etcd-member", "delete-kubernetes-node", "delete-machine", "create-replacement", "wait-healthy"])
        #expect((report["recovered_after_seconds"] as? Double ?? 0) > 60)
        #expect(lines.dropLast().contains { $0.contains(#""type":"event""#) && $0.contains(#""step":"confirm-lost""#) })

        let status = try cli.run("status", "home", "--simulate", "-o", "json")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])
        let nodes = try #require(document["nodes"] as? [[String: Any]])
        #expect(nodes.count == 7 && nodes.allSatisfy { $0["kubernetes"] as? String == "Ready" }, "\(nodes)")
    }

    @Test func theCommandNeedsANodeAndRefusesWhatItCannotDo() throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        let missing = try cli.run("failover", "home", "worker-lost", "--simulate")
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("needs the lost node's name"), "\(missing.stderr)")
        let help = try cli.run("failover", "--help")
        #expect(help.stdout.contains("controlplane-lost NODE") && help.stdout.contains("Exit status"), "\(help.stdout)")
        #expect(try cli.run("up", "home", "--simulate").status == 0)
        let noSuchNode = try cli.run("failover", "home", "worker-lost", "home-big-9", "--simulate")
        #expect(noSuchNode.status == 1, "\(noSuchNode.stdout) \(noSuchNode.stderr)")
        #expect(noSuchNode.stdout.contains("no pool of cluster home has a node home-big-9"), "\(noSuchNode.stdout)")
    }
}
