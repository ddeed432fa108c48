import ClusterKit
import ClusterTestSupport
import Foundation
import Provisioners
import Testing

/// Damaged state and unsafe runs, through the binary as a user meets them: a duplicated node
/// name, a lost secrets bundle, providers that cannot be read, overlapping runs, loose file
/// modes, echoed tokens, a corrupted simulator state, signals.
@Suite struct CLIStateSafetyTests {
    /// The simulator's state file of the home cluster, as JSON.
    static func stateURL(_ cli: CLIHarness) -> URL { cli.home.appendingPathComponent("home/simulator/state.json") }

    static func editState(_ cli: CLIHarness, _ edit: (inout [String: Any]) throws -> Void) throws {
        var state = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: stateURL(cli))) as? [String: Any])
        try edit(&state)
        try JSONSerialization.data(withJSONObject: state).write(to: stateURL(cli))
    }

    // MARK: duplicate names

    @Test func aDuplicatedNameIsReportedAndNoHealthyNodeIsDeleted() throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        #expect(try cli.run("up", "home", "--simulate").status == 0)
        // A manual clone of home-cp-1: same identity, another provider id.
        var cloneID = ""
        try Self.editState(cli) { state in
            var providers = try #require(state["providers"] as? [String: Any])
            var hcloud = try #require(providers["hcloud"] as? [String: Any])
            var machines = try #require(hcloud["machines"] as? [[String: Any]])
            var clone = try #require(machines.first { ($0["identity"] as? [String: Any])?["node"] as? String == "home-cp-1" })
            cloneID = "\(clone["providerID"] ?? "")-clone"
            clone["providerID"] = cloneID
            machines.append(clone)
            hcloud["machines"] = machines
            providers["hcloud"] = hcloud
            state["providers"] = providers
        }

        let plan = try cli.run("plan", "home", "--simulate")
        #expect(plan.status == 0, "\(plan.stderr)")
        #expect(!plan.stdout.contains("- home-"), "no node is deleted: \(plan.stdout)")
        #expect(plan.stdout.contains("home-cp-1 is carried by 2 machines"), "\(plan.stdout)")
        #expect(plan.stdout.contains("--machine"), "the remedy is named: \(plan.stdout)")
        #expect(!plan.stdout.contains("matches its spec"), "\(plan.stdout)")

        let status = try cli.run("status", "home", "--simulate")
        #expect(status.stdout.contains("! home-cp-1 is carried by 2 machines") && !status.stdout.contains("No drift"), "\(status.stdout)")

        let up = try cli.run("up", "home", "--simulate")
        #expect(up.status == 1, "the duplicate is unresolved: \(up.stderr)")
        #expect(up.stderr.contains("error: home-cp-1 is carried by 2 machines"), "\(up.stderr)")
        #expect(!up.stderr.contains("removing"), "nothing was removed: \(up.stderr)")

        let ambiguous = try cli.run("node", "remove", "home", "home-cp-1", "--simulate")
        #expect(ambiguous.status == 3, "\(ambiguous.stderr)")
        let specBefore = try cli.read("clusters/home.yaml")
        let remove = try cli.run("node", "remove", "home", "home-cp-1", "--machine", cloneID, "--simulate")
        #expect(remove.status == 0, "\(remove.stderr)")
        #expect(try cli.read("clusters/home.yaml") == specBefore, "the pool's count stays")

        let after = try cli.run("status", "home", "--simulate", "-o", "json")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(after.stdout.utf8)) as? [String: Any])
        let nodes = try #require(document["nodes"] as? [[String: Any]])
        #expect(nodes.filter { $0["name"] as? String == "home-cp-1" }.count == 1)
        #expect(nodes.filter { $0["name"] as? String == "home-cp-2" }.count == 1)
        #expect(nodes.allSatisfy { $0["kubernetes"] as? String == "Ready" }, "the real home-cp-1 kept its place: \(nodes)")
        #expect((document["drift"] as? [Any])?.isEmpty == true, "\(document["drift"] ?? "")")
    }

    // MARK: secrets

    @Test func aMissingBundleOfARunningClusterIsNeverRegenerated() throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        #expect(try cli.run("up", "home", "--simulate").status == 0)
        let bundle = cli.home.appendingPathComponent("home/simulator/secrets.yaml")
        let saved = try Data(contentsOf: bundle)
        try FileManager.default.removeItem(at: bundle)

        for arguments in [["up", "home", "--simulate"], ["gen", "config", "home", "--simulate", "--out", "out"], ["node", "add", "home", "--pool", "big", "--simulate"]] {
            let run = try cli.run(arguments)
            #expect(run.status == 1, "\(arguments): \(run.stderr)")
            #expect(run.stderr.contains("secrets bundle") && run.stderr.contains("is missing"), "\(arguments): \(run.stderr)")
            #expect(run.stderr.contains("clusterctl secrets import home"), "\(arguments): \(run.stderr)")
            #expect(!FileManager.default.fileExists(atPath: bundle.path), "\(arguments) wrote a new bundle")
        }
        #expect(!(try cli.read("clusters/home.yaml")).contains("count: 3"), "node add left the spec alone")

        // Restored, everything works again.
        let backup = cli.workDirectory.appendingPathComponent("backup.yaml")
        try saved.write(to: backup)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: backup.path)
        let restore = try cli.run("secrets", "import", "home", backup.path, "--simulate")
        #expect(restore.status == 0, "\(restore.stderr)")
        let up = try cli.run("up", "home", "--simulate")
        #expect(up.status == 0 && up.stdout.contains("7 of 7 nodes Ready"), "\(up.stderr)")
    }

    @Test func anUnreadableBundleStopsUpBeforeAnyChange() throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        #expect(try cli.run("up", "home", "--simulate", "--until", "machines").status == 0)
        let bundle = cli.home.appendingPathComponent("home/simulator/secrets.yaml")
        try SecureFile.write("cluster: [this is not a bundle\n", to: bundle)
        let up = try cli.run("up", "home", "--simulate")
        #expect(up.status == 1, "\(up.stderr)")
        #expect(up.stderr.contains("the secrets bundle of cluster home cannot be used, so nothing was changed"), "\(up.stderr)")
        #expect(!up.stderr.contains("applying machine config"), "\(up.stderr)")
        #expect(try String(contentsOf: bundle, encoding: .utf8) == "cluster: [this is not a bundle\n", "the damaged bundle is not replaced")
    }

    @Test func bundlesAndTokenFilesOthersCanReadAreRefused() throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        #expect(try cli.run("up", "home", "--simulate").status == 0)
        let bundle = cli.home.appendingPathComponent("home/simulator/secrets.yaml")
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: bundle.path)
        let up = try cli.run("node", "add", "home", "--pool", "big", "--simulate")
        #expect(up.status == 1, "\(up.stderr)")
        #expect(up.stderr.contains("chmod 600 \(bundle.path)"), "\(up.stderr)")

        let loose = cli.workDirectory.appendingPathComponent("loose-secrets.yaml")
        try FileManager.default.copyItem(at: bundle, to: loose)
        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: loose.path)
        // Adopting a loose file is allowed (the stored copy is 0600), with a warning about the source.
        let importRun = try cli.run("secrets", "import", "lab", loose.path, "--simulate")
        #expect(importRun.status == 0 && importRun.stderr.contains("warning: \(loose.path) is readable by others (mode 640)"), "\(importRun.stderr)")
        #expect(SecureFile.mode(of: cli.home.appendingPathComponent("lab/simulator/secrets.yaml")) == 0o600)
    }

    // MARK: simulator state

    @Test(arguments: [1e300, -5.0, 2e12])
    func corruptTimesInTheStateAreReportedNotCrashed(value: Double) throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        #expect(try cli.run("up", "home", "--simulate", "--until", "machines").status == 0)
        try Self.editState(cli) { $0["now"] = value }
        for command in ["status", "plan", "up"] {
            let run = try cli.run([command, "home", "--simulate"])
            #expect(run.status == 1, "\(command) ended with \(run.status): \(run.stderr)")
            #expect(run.stderr.contains("the simulator state \(Self.stateURL(cli).path) is corrupt: now is"), "\(run.stderr)")
            #expect(run.stderr.contains("delete it"), "\(run.stderr)")
        }
    }

    @Test func garbageInTheStateNamesTheFieldAndPath() throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        #expect(try cli.run("up", "home", "--simulate", "--until", "machines").status == 0)
        try Self.editState(cli) { $0["seed"] = "not a number" }
        let run = try cli.run("status", "home", "--simulate")
        #expect(run.status == 1)
        #expect(run.stderr.contains("is corrupt: seed:"), "\(run.stderr)")
    }

    // MARK: faults that never fire

    @Test func injectedFaultsThatNeverFireEndWithAWarningAndExit1() throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        let up = try cli.run("up", "home", "--simulate", "--inject", "crash:create:home-cp-9")
        #expect(up.status == 1, "\(up.stderr)")
        #expect(up.stderr.contains("--inject crash:create:home-cp-9 never fired"), "\(up.stderr)")
        #expect(up.stdout.contains("7 of 7 nodes Ready"), "the run itself went ahead: \(up.stdout)")
        // It does not linger in the world for a later command.
        let again = try cli.run("node", "add", "home", "--pool", "big", "--simulate")
        #expect(again.status == 0, "\(again.stderr)")
    }

    // MARK: one run at a time, signals

    @Test func aSecondRunIsRefusedWhileTheFirstHoldsTheLockAndCtrlCEndsTheFirst() throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        // At 30 virtual seconds per real second the bring-up takes about half a minute.
        let first = try cli.start(["up", "home", "--simulate", "--sim-speed", "30", "-o", "json"])
        let lock = cli.home.appendingPathComponent("home/simulator/lock")
        var holder = ""
        for _ in 0..<100 where !holder.contains("\"pid\"") {
            Thread.sleep(forTimeInterval: 0.1)
            holder = (try? String(contentsOf: lock, encoding: .utf8)) ?? ""
        }
        #expect(holder.contains("\"pid\":\(first.pid)"), "\(holder)")

        for arguments in [["up", "home", "--simulate"], ["down", "home", "--simulate", "--yes"], ["node", "add", "home", "--pool", "big", "--simulate"]] {
            let second = try cli.run(arguments)
            #expect(second.status == 3, "\(arguments): \(second.stderr)")
            #expect(second.stderr.contains("another clusterctl run is changing this cluster: pid \(first.pid) on "), "\(second.stderr)")
            #expect(second.stderr.contains("clusterctl up home --simulate --sim-speed 30 -o json"), "\(second.stderr)")
        }
        // Reading is not blocked.
        #expect(try cli.run("plan", "home", "--simulate").status == 0)

        Thread.sleep(forTimeInterval: 1)
        first.send(SIGINT)
        let ended = first.wait()
        #expect(ended.status == 130, "\(ended.stderr)")
        #expect(ended.stderr.contains("interrupted by SIGINT"), "\(ended.stderr)")
        let last = try #require(ended.stdout.split(separator: "\n").last)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any])
        #expect(report["type"] as? String == "report" && report["succeeded"] as? Bool == false, "\(last)")

        // The lock went with the process; the next run converges.
        let rerun = try cli.run("up", "home", "--simulate")
        #expect(rerun.status == 0, "\(rerun.stderr)")
        #expect(rerun.stdout.contains("7 of 7 nodes Ready"), "\(rerun.stdout)")
    }

    @Test func sigtermAlsoEndsARunWithAWord() throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        let run = try cli.start(["up", "home", "--simulate", "--sim-speed", "30"])
        // Signal once the run holds its lock, i.e. is at work (not still starting up).
        let lock = cli.home.appendingPathComponent("home/simulator/lock")
        for _ in 0..<100 where !((try? String(contentsOf: lock, encoding: .utf8)) ?? "").contains("\"pid\"") {
            Thread.sleep(forTimeInterval: 0.1)
        }
        Thread.sleep(forTimeInterval: 1)
        run.send(SIGTERM)
        let ended = run.wait()
        #expect(ended.status == 130, "\(ended.stderr)")
        #expect(ended.stderr.contains("interrupted by SIGTERM"), "\(ended.stderr)")
    }

    @Test func theOverallDeadlineStopsACommand() throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        let started = Date()
        let run = try cli.run(["up", "home", "--simulate", "--sim-speed", "10", "--timeout", "2s"])
        #expect(run.status == 1, "\(run.stderr)")
        #expect(run.stderr.contains("did not finish within 2s (--timeout)"), "\(run.stderr)")
        // Each step cut short says so in words, not as Swift's `CancellationError()`.
        #expect(run.stderr.contains("stopped before it finished") && !run.stderr.contains("CancellationError"), "\(run.stderr)")
        #expect(Date().timeIntervalSince(started) < 30)
        let bad = try cli.run(["plan", "home", "--simulate", "--timeout", "soon"])
        #expect(bad.status == 2 && bad.stderr.contains("invalid for '--timeout <duration>'"), "\(bad.stderr)")
    }
}

/// A clusterctl directory that cannot be written is found before any change, not after the work.
/// Root may write anywhere, so the command runs as `nobody` (setpriv, from util-linux).
@Suite struct CLIReadOnlyStateTests {
    @Test func aReadOnlyStateDirectoryIsRefusedBeforeAnyChange() throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        #expect(try cli.run("up", "home", "--simulate", "--until", "images").status == 0)
        let nobody: UInt32 = 65534
        let directory = cli.home.appendingPathComponent("home/simulator")
        for path in [cli.workDirectory, cli.home, cli.home.appendingPathComponent("home")] {
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path.path)
        }
        for name in try FileManager.default.contentsOfDirectory(atPath: directory.path) {
            try FileManager.default.setAttributes([.ownerAccountID: nobody, .groupOwnerAccountID: nobody], ofItemAtPath: directory.appendingPathComponent(name).path)
        }
        try FileManager.default.setAttributes([.ownerAccountID: nobody, .groupOwnerAccountID: nobody, .posixPermissions: 0o500], ofItemAtPath: directory.path)
        let stateBefore = try Data(contentsOf: directory.appendingPathComponent("state.json"))

        let up = try cli.run(["up", "home", "--simulate"], user: nobody)
        #expect(up.status == 1, "\(up.stderr)")
        #expect(up.stderr.contains("the clusterctl directory \(directory.path) is not writable"), "\(up.stderr)")
        #expect(!up.stderr.contains("creating"), "no work was started: \(up.stderr)")
        #expect(try Data(contentsOf: directory.appendingPathComponent("state.json")) == stateBefore)
        // The simulator keeps its clock in that directory, so even reading it must save: a clear error.
        let status = try cli.run(["status", "home", "--simulate"], user: nobody)
        #expect(status.status == 1 && status.stderr.contains("error: cannot create \(directory.path)/"), "\(status.stderr)")
    }
}
