import ClusterKit
import ClusterTestSupport
import Foundation
import Testing

/// `clusterctl etcd snapshot` through the real binary on the simulator.
@Suite struct CLIEtcdTests {
    private func mode(_ path: String) -> Int? {
        (try? FileManager.default.attributesOfItem(atPath: path))?[.posixPermissions] as? Int
    }

    /// Runs `etcd snapshot` with `-o json`; returns the file's path.
    private func takeSnapshot(_ cli: CLIHarness, into directory: String) throws -> String {
        let snapshot = try cli.run("etcd", "snapshot", "home", "--simulate", "--dir", directory, "-o", "json")
        #expect(snapshot.status == 0, "\(snapshot.stderr)")
        return try #require((try JSONSerialization.jsonObject(with: Data(snapshot.stdout.utf8)) as? [String: Any])?["path"] as? String)
    }

    @Test func snapshotWritesACheckedFileNamedByTimeAndPrunes() throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        #expect(try cli.run("up", "home", "--simulate").status == 0)
        let directory = cli.workDirectory.appendingPathComponent("backups").path
        // A file the command did not name must survive pruning.
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try Data("keep me".utf8).write(to: URL(fileURLWithPath: directory + "/notes.txt"))

        var taken: [String] = []
        for _ in 0..<3 {
            let run = try cli.run("etcd", "snapshot", "home", "--simulate", "--dir", directory, "--keep", "2", "-o", "json")
            #expect(run.status == 0, "\(run.stderr)")
            let document = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
            let path = try #require(document["path"] as? String)
            taken.append(path)
            #expect(EtcdBackup.isSnapshotName((path as NSString).lastPathComponent), "\(path)")
            #expect(document["node"] as? String == "home-cp-1")
            let bytes = try #require(FileManager.default.contents(atPath: path))
            let check = EtcdSnapshotCheck.check(Array(bytes))
            #expect(check.intact)
            #expect(document["size"] as? Int == bytes.count)
            #expect(document["sha256"] as? String == check.sha256)
            #expect(mode(path) == 0o600)
            try Task.checkCancellation()
            usleep(5_000)  // names carry milliseconds; keep them distinct
        }
        #expect(taken == taken.sorted(), "names sort by time")
        let left = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        #expect(left == [(taken[1] as NSString).lastPathComponent, (taken[2] as NSString).lastPathComponent, "notes.txt"].sorted(), "\(left)")

        // The default directory: etcd-snapshots/ in the cluster's clusterctl directory, 0700.
        let table = try cli.run("etcd", "snapshot", "home", "--simulate")
        #expect(table.status == 0, "\(table.stderr)")
        #expect(table.stdout.contains("saved ") && table.stdout.contains("sha256"), "\(table.stdout)")
        let defaultDirectory = cli.home.appendingPathComponent("home/simulator/etcd-snapshots").path
        #expect(mode(defaultDirectory) == 0o700)
        #expect(try FileManager.default.contentsOfDirectory(atPath: defaultDirectory).count == 1)
    }

    @Test func snapshotRefusesBadKeepAndAClusterWithoutEtcd() throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        let badKeep = try cli.run("etcd", "snapshot", "home", "--simulate", "--keep", "0")
        #expect(badKeep.status == 2, "\(badKeep.stderr)")
        #expect(badKeep.stderr.contains("--keep must be at least 1"))

        // Nothing is up: no control plane can serve a snapshot, and nothing is written.
        let directory = cli.workDirectory.appendingPathComponent("empty").path
        let none = try cli.run("etcd", "snapshot", "home", "--simulate", "--dir", directory)
        #expect(none.status != 0)
        #expect(none.stderr.contains("could serve an etcd snapshot"), "\(none.stderr)")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).isEmpty)
    }

    @Test func restoreChecksTheSnapshotFirstAndRefusesAWorkingCluster() throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        #expect(try cli.run("up", "home", "--simulate").status == 0)
        let directory = cli.workDirectory.appendingPathComponent("backups").path
        let path = try takeSnapshot(cli, into: directory)

        // etcd still answers: not a disaster, nothing happens.
        let refused = try cli.run("etcd", "restore", "home", "--simulate", "--from", path, "--dry-run")
        #expect(refused.status == 3, "\(refused.stderr)")
        #expect(refused.stderr.contains("this is not a disaster"), "\(refused.stderr)")

        // A damaged snapshot is refused before anything else is looked at.
        var bytes = try #require(FileManager.default.contents(atPath: path))
        bytes[10] ^= 0xff
        let damaged = directory + "/damaged.snapshot"
        try bytes.write(to: URL(fileURLWithPath: damaged))
        let bad = try cli.run("etcd", "restore", "home", "--simulate", "--from", damaged)
        #expect(bad.status == 2, "\(bad.stderr)")
        #expect(bad.stderr.contains("not an intact etcd snapshot"), "\(bad.stderr)")
        let missing = try cli.run("etcd", "restore", "home", "--simulate", "--from", directory + "/nope.snapshot")
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("cannot read the etcd snapshot"), "\(missing.stderr)")
    }

    @Test func restoreBringsBackAClusterWhoseEtcdIsGoneEverywhere() throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        #expect(try cli.run("up", "home", "--simulate").status == 0)
        let directory = cli.workDirectory.appendingPathComponent("backups").path
        let path = try takeSnapshot(cli, into: directory)

        // Every control plane loses its etcd (rebuilt machines with the same config, empty
        // /var/lib/etcd): the world forgets the etcd cluster and everything stored in it.
        let stateURL = cli.home.appendingPathComponent("home/simulator/state.json")
        var state = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: stateURL)) as? [String: Any])
        var clusters = try #require(state["clusters"] as? [String: Any])
        var home = try #require(clusters["home"] as? [String: Any])
        let kubernetesBefore = try #require(home["kubernetes"] as? [String: Any])
        let workloadsBefore = try #require(kubernetesBefore["workloads"] as? [String: Any])
        #expect(!workloadsBefore.isEmpty)
        for key in ["bootstrapMachine", "bootstrappedAt", "clusterID", "kubernetes", "gitops"] { home[key] = nil }
        home["kubernetesNodes"] = [String: Any]()
        clusters["home"] = home
        state["clusters"] = clusters
        // And home-cp-2's machine is gone altogether: the restore must create it first.
        var providers = try #require(state["providers"] as? [String: Any])
        for (name, value) in providers {
            guard var provider = value as? [String: Any], let machines = provider["machines"] as? [[String: Any]] else { continue }
            provider["machines"] = machines.filter { (($0["identity"] as? [String: Any])?["node"] as? String) != "home-cp-2" }
            providers[name] = provider
        }
        state["providers"] = providers
        try JSONSerialization.data(withJSONObject: state).write(to: stateURL)
        let lost = try cli.run("status", "home", "--simulate", "-o", "json")
        #expect(((try JSONSerialization.jsonObject(with: Data(lost.stdout.utf8)) as? [String: Any])?["etcd_members"] as? [Any])?.isEmpty == true, "\(lost.stdout)")

        let dryRun = try cli.run("etcd", "restore", "home", "--simulate", "--from", path, "--dry-run")
        #expect(dryRun.status == 0, "\(dryRun.stderr)")
        #expect(dryRun.stdout.contains("home-cp-2: create the machine"), "\(dryRun.stdout)")
        #expect(dryRun.stdout.contains("home-cp-1: upload the snapshot and bootstrap etcd from it"), "\(dryRun.stdout)")
        let untouched = try cli.run("status", "home", "--simulate", "-o", "json")
        #expect(!untouched.stdout.contains("\"home-cp-2\""), "a dry run creates nothing")
        let restore = try cli.run("etcd", "restore", "home", "--simulate", "--from", path)
        #expect(restore.status == 0, "\(restore.stderr)")
        #expect(restore.stdout.contains("Restored home from"), "\(restore.stdout)")
        #expect(restore.stdout.contains("home-cp-2: create the machine"), "\(restore.stdout)")
        #expect(restore.stdout.contains("Kubernetes API up; home-cp-1, home-cp-2, home-cp-home-1 Ready"), "\(restore.stdout)")

        let after = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: stateURL)) as? [String: Any])
        let restored = try #require((after["clusters"] as? [String: Any])?["home"] as? [String: Any])
        let workloadsAfter = try #require((restored["kubernetes"] as? [String: Any])?["workloads"] as? [String: Any])
        #expect(NSDictionary(dictionary: workloadsAfter).isEqual(to: workloadsBefore), "the snapshot's data is back")
        #expect(restored["bootstrapCalls"] as? Int == 2, "one recovering bootstrap after the first")
        let status = try cli.run("status", "home", "--simulate", "-o", "json")
        let members = try #require((try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])?["etcd_members"] as? [String])
        #expect(members.sorted() == ["home-cp-1", "home-cp-2", "home-cp-home-1"], "\(status.stdout)\n\(restore.stdout)\n\(restore.stderr)")
    }
}
