import ClusterKit
import ClusterTestSupport
import Foundation
import Provisioners
import Testing

/// `clusterctl failover` and `clusterctl etcd snapshot` through the real binary against real
/// backends (``LoopbackCloud``: the Hetzner API model, one Talos apid per server on its own
/// address, the Kubernetes API on the floating IP). Machines are lost as the cloud would show it:
/// powered off through the Hetzner API (status `off`, apid and kubelet silent), or hung (still
/// `running` at the provider, silent otherwise).
@Suite(.serialized) struct CLIFailoverOverTheWireTests {
    typealias World = CLIBringUpOverTheWireTests.World

    /// Short polls and probes: the loopback world answers in milliseconds.
    static let fast = ["--poll-interval", "200ms", "--node-timeout", "60s", "--timeout", "120s"]

    /// The report line of a `-o json` run (its last line), and the event lines before it.
    static func report(_ output: CLIHarness.Output) throws -> (report: [String: Any], events: [String]) {
        let lines = output.stdout.split(separator: "\n").map(String.init)
        let report = try #require(try JSONSerialization.jsonObject(with: Data((lines.last ?? "").utf8)) as? [String: Any], "\(output.stdout)\n\(output.stderr)")
        return (report, Array(lines.dropLast()))
    }

    static func actions(_ report: [String: Any]) -> [String] {
        (report["steps"] as? [[String: Any]] ?? []).compactMap { $0["action"] as? String }
    }

    func server(_ world: World, _ name: String) throws -> HetznerModelServer {
        try #require(world.cloud.hetzner.servers.first { $0.name == name }, "no server \(name)")
    }

    /// Powers the server off through the Hetzner API (`clusterctl node power ... off`, as a drill
    /// or an outage at the provider does) and silences its OS.
    func powerOff(_ world: World, _ name: String) async throws {
        let off = try await world.run(["node", "power", "wire", name, "off", "--timeout", "60s"])
        #expect(off.status == 0, "\(off.stderr)")
        #expect(try server(world, name).status == "off")
        try world.cloud.silence(name)
    }

    @Test func aPoweredOffWorkerIsReplacedUnderItsNameAndReadyAgain() async throws {
        let world = try World(controlPlanes: 3, workers: 1)
        let up = try await world.up()
        try #require(up.status == 0, "\(up.stderr)\n\(world.cloud.failures)")

        let healthy = try await world.run(["failover", "wire", "worker-lost", "wire-worker-1", "--dry-run"] + Self.fast)
        #expect(healthy.status == 0, "\(healthy.stderr)")
        #expect(healthy.stdout.contains("wire: worker-lost wire-worker-1: nothing to do"), "\(healthy.stdout)")

        let lost = try server(world, "wire-worker-1")
        try await powerOff(world, "wire-worker-1")
        let dryRun = try await world.run(["failover", "wire", "worker-lost", "wire-worker-1", "--dry-run"] + Self.fast)
        #expect(dryRun.status == 0, "\(dryRun.stderr)")
        #expect(dryRun.stdout.contains("would take 5 steps"), "\(dryRun.stdout)")
        #expect(world.cloud.hetzner.servers.contains { $0.id == lost.id }, "a dry run changes nothing")

        let run = try await world.run(["failover", "wire", "worker-lost", "wire-worker-1", "-o", "json"] + Self.fast)
        #expect(run.status == 0, "\(run.stderr)\n\(run.stdout)\n\(world.cloud.failures)")
        let (report, events) = try Self.report(run)
        #expect(report["outcome"] as? String == "completed", "\(report)")
        #expect(Self.actions(report) == ["confirm-lost", "delete-kubernetes-node", "delete-machine", "create-replacement", "wait-healthy"], "\(report)")
        #expect(events.contains { $0.contains(#""step":"confirm-lost""#) && $0.contains("lost: provider stopped; Talos API silent on 3/3 probes") }, "\(events)")

        let replacement = try server(world, "wire-worker-1")
        #expect(replacement.id != lost.id && replacement.status == "running")
        #expect(replacement.publicIPv4 != lost.publicIPv4, "a new machine, a new address")
        #expect(!world.cloud.hetzner.servers.contains { $0.id == lost.id }, "the lost machine is deleted")
        #expect(world.cloud.kubernetes.model.node("wire-worker-1")?.ready == true)
        #expect(world.serverCreates() == 5)
        #expect(world.cloud.talos.bootstrapCount == 1)

        // The cluster is whole again: a second run has nothing to do.
        let again = try await world.run(["failover", "wire", "worker-lost", "wire-worker-1"] + Self.fast)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stdout.contains("nothing-to-do: wire-worker-1 is healthy"), "\(again.stdout)")
        #expect(world.serverCreates() == 5)
        await world.stop()
    }

    /// The control plane the ingress floating IP points at, and the others in name order.
    func controlPlanes(_ world: World) throws -> (holder: String, others: [String]) {
        let holderID = try #require(world.cloud.hetzner.floatingIPServer("api"), "the floating IP is not assigned")
        let holder = try #require(world.cloud.hetzner.servers.first { $0.id == holderID }?.name)
        let others = world.cloud.hetzner.servers.map(\.name).filter { $0.hasPrefix("wire-cp-") && $0 != holder }.sorted()
        return (holder, others)
    }

    @Test func aHungControlPlaneIsReplacedThroughAHealthyOneAndVotesInEtcdAgain() async throws {
        let world = try World(controlPlanes: 3, workers: 0)
        let up = try await world.up()
        try #require(up.status == 0, "\(up.stderr)\n\(world.cloud.failures)")
        let (holder, others) = try controlPlanes(world)
        try #require(others.count == 2)
        let (victim, second) = (others[0], others[1])

        let healthy = try await world.run(["failover", "wire", "controlplane-lost", holder, "--dry-run"] + Self.fast)
        #expect(healthy.status == 0, "\(healthy.stderr)")
        #expect(healthy.stdout.contains("wire: controlplane-lost \(holder): nothing to do"), "\(healthy.stdout)")

        // Two of three control planes hang (the provider still says running): etcd has no
        // quorum, so nothing may be removed, and nothing is.
        let lost = try server(world, victim)
        try world.cloud.silence(victim)
        let secondAddress = try world.cloud.silence(second)
        let refused = try await world.run(["failover", "wire", "controlplane-lost", victim] + Self.fast)
        #expect(refused.status == 3, "\(refused.stdout)\n\(refused.stderr)")
        #expect(refused.stdout.contains("wire: controlplane-lost \(victim) refused"), "\(refused.stdout)")
        #expect(refused.stdout.contains("no control plane answers etcd's member list"), "\(refused.stdout)")
        #expect(world.cloud.hetzner.servers.count == 3, "nothing was deleted")

        // The second comes back: now the playbook may act.
        world.cloud.talos.update(secondAddress) { $0.up = true }
        world.cloud.kubernetes.model.setNodeReady(second, true)
        let dryRun = try await world.run(["failover", "wire", "controlplane-lost", victim, "--dry-run"] + Self.fast)
        #expect(dryRun.status == 0, "\(dryRun.stderr)")
        #expect(dryRun.stdout.contains("would take 6 steps"), "\(dryRun.stdout)")
        #expect(dryRun.stdout.contains("2. remove-etcd-member"), "\(dryRun.stdout)")
        #expect(try await world.etcdMembers() == ["wire-cp-1", "wire-cp-2", "wire-cp-3"], "a dry run changes nothing")

        let run = try await world.run(["failover", "wire", "controlplane-lost", victim, "-o", "json"] + Self.fast)
        #expect(run.status == 0, "\(run.stderr)\n\(run.stdout)\n\(world.cloud.failures)")
        let (report, events) = try Self.report(run)
        #expect(report["outcome"] as? String == "completed", "\(report)")
        #expect(
            Self.actions(report) == ["confirm-lost", "remove-etcd-member", "delete-kubernetes-node", "delete-machine", "create-replacement", "wait-healthy"],
            "\(report)")
        #expect(events.contains { $0.contains("etcd member of \(victim) removed through wire-cp-") && !$0.contains("through \(victim)") }, "\(events)")
        #expect(report["recovered_after_seconds"] as? Double != nil, "\(report)")

        let replacement = try server(world, victim)
        #expect(replacement.id != lost.id && replacement.status == "running")
        #expect(!world.cloud.hetzner.servers.contains { $0.id == lost.id }, "the lost machine is deleted")
        #expect(try await world.etcdMembers() == ["wire-cp-1", "wire-cp-2", "wire-cp-3"], "the replacement is a member again")
        #expect(world.cloud.talos.isUp(replacement.publicIPv4 ?? ""))
        #expect(world.cloud.kubernetes.model.node(victim)?.ready == true)
        #expect(world.cloud.talos.bootstrapCount == 1, "a replacement never bootstraps etcd again")
        #expect(world.cloud.talos.etcdClusterCount == 1)

        // A snapshot of the healed cluster over the wire: 0600, in a 0700 directory.
        let directory = world.cli.workDirectory.appendingPathComponent("backups").path
        let snapshot = try await world.run(["etcd", "snapshot", "wire", "--dir", directory, "-o", "json", "--timeout", "60s"])
        #expect(snapshot.status == 0, "\(snapshot.stderr)")
        let saved = try #require(try JSONSerialization.jsonObject(with: Data(snapshot.stdout.utf8)) as? [String: Any], "\(snapshot.stdout)")
        let path = try #require(saved["path"] as? String, "\(saved)")
        #expect(path.hasPrefix(directory + "/etcd-") && path.hasSuffix(".snapshot"), "\(path)")
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int).map { $0 & 0o777 } == 0o600)
        #expect((try FileManager.default.attributesOfItem(atPath: directory)[.posixPermissions] as? Int).map { $0 & 0o777 } == 0o700)
        #expect((attributes[.size] as? Int ?? 0) > 0 && (attributes[.size] as? Int) == saved["size"] as? Int, "\(saved)")
        await world.stop()
    }

    @Test func theIngressIPMovesOffAPoweredOffHolderToAHealthyCandidate() async throws {
        let world = try World(controlPlanes: 3, workers: 0)
        let up = try await world.up()
        try #require(up.status == 0, "\(up.stderr)\n\(world.cloud.failures)")
        let route = try await LoopbackFloatingIPRoute(cloud: world.cloud, floatingIP: "api")
        let (holder, others) = try controlPlanes(world)

        // The holder is healthy and answers at the IP: nothing to move.
        let healthy = try await world.run(["failover", "wire", "ingress-ip"] + Self.fast)
        #expect(healthy.status == 0, "\(healthy.stderr)")
        #expect(healthy.stdout.contains("nothing-to-do: the ingress floating IP already points at \(holder), which is healthy"), "\(healthy.stdout)")

        try await powerOff(world, holder)
        let toLost = try await world.run(["failover", "wire", "ingress-ip", holder] + Self.fast)
        #expect(toLost.status == 3, "\(toLost.stdout)\n\(toLost.stderr)")
        #expect(toLost.stdout.contains("\(holder) is not healthy"), "\(toLost.stdout)")

        let run = try await world.run(["failover", "wire", "ingress-ip", "-o", "json"] + Self.fast)
        #expect(run.status == 0, "\(run.stderr)\n\(run.stdout)")
        let (report, _) = try Self.report(run)
        #expect(report["outcome"] as? String == "completed", "\(report)")
        #expect(Self.actions(report) == ["move-ingress-ip", "verify-ingress"], "\(report)")
        // The first healthy candidate in name order takes it.
        #expect(report["ingress_holder"] as? String == others.first, "\(report)")
        #expect(report["ingress_reachable_after_seconds"] as? Double != nil, "\(report)")
        let newHolder = try #require(world.cloud.hetzner.floatingIPServer("api"))
        #expect(try server(world, others[0]).id == newHolder, "the Hetzner model routes the IP to \(others[0])")
        #expect(world.cloud.hetzner.requests.contains { $0.method == "POST" && $0.path.hasSuffix("/actions/assign") && $0.status < 300 })

        await route.stop()
        await world.stop()
    }

    @Test func theWatcherMovesTheIPOffAPoweredOffHolderAtOnceThenReplacesItOnce() async throws {
        let world = try World(controlPlanes: 3, workers: 0)
        let spec = LoopbackCloud.spec(cluster: "wire", controlPlanes: 3, workers: 0) + "  replacement:\n    mode: automatic\n    nodeLostAfter: 2s\n"
        try world.cli.write("clusters/wire.yaml", spec)
        let up = try await world.up()
        try #require(up.status == 0, "\(up.stderr)\n\(world.cloud.failures)")
        let route = try await LoopbackFloatingIPRoute(cloud: world.cloud, floatingIP: "api")
        let (holder, others) = try controlPlanes(world)
        let lost = try server(world, holder)

        async let watching = world.run(["watch", "wire", "--for", "20s", "--metrics-port", "0", "--poll-interval", "200ms", "--node-timeout", "60s"])
        // Let the watcher see every node alive first.
        try await Task.sleep(for: .seconds(2))
        try await powerOff(world, holder)
        let watch = try await watching

        #expect(watch.status == 0, "\(watch.stderr)\n\(watch.stdout)")
        let detections = watch.stdout.split(separator: "\n").filter { $0.contains(" lost, detected at ") }
        #expect(detections.count == 1 && detections.first?.hasPrefix("wire: \(holder) lost") == true, "lost once, not again while replaced: \(watch.stdout)")
        #expect(watch.stdout.contains("wire: ingress-ip completed"), "\(watch.stdout)")
        #expect(watch.stdout.contains("wire: controlplane-lost \(holder) completed"), "\(watch.stdout)")
        let ingressLine = try #require(watch.stdout.split(separator: "\n").firstIndex { $0.contains("wire: ingress-ip completed") })
        let replacementLine = try #require(watch.stdout.split(separator: "\n").firstIndex { $0.contains("wire: controlplane-lost") })
        #expect(ingressLine < replacementLine, "the IP moves before the replacement starts")

        let newHolder = try #require(world.cloud.hetzner.floatingIPServer("api"))
        #expect(try server(world, others[0]).id == newHolder, "the IP moved to \(others[0])")
        let replacement = try server(world, holder)
        #expect(replacement.id != lost.id && replacement.status == "running")
        #expect(try await world.etcdMembers() == ["wire-cp-1", "wire-cp-2", "wire-cp-3"])
        #expect(world.cloud.kubernetes.model.node(holder)?.ready == true)
        #expect(world.serverCreates() == 4, "replaced once")
        await route.stop()
        await world.stop()
    }
}
