import ClusterKit
import ClusterTestSupport
import Foundation
import Provisioners
import Testing

/// `clusterctl drill run|stop` against real backends, after a real `up`, in the ``LoopbackCloud``
/// world of ``CLIBringUpOverTheWireTests``: the fault is a `poweroff` through the Hetzner API
/// model, the repair the failover playbooks over the Talos and Kubernetes API peers, and the lock
/// the Lease kube-system/clusterctl-drill in the Kubernetes API model. Timings are the spec's,
/// kept short: nodeLostAfter 2s, probe rounds every 200 ms.
@Suite(.serialized) struct CLIDrillOverTheWireTests {
    typealias World = CLIBringUpOverTheWireTests.World

    /// `wire` with three control planes and two workers (lose-worker wants one left), automatic replacement after `nodeLostAfter`,
    /// and drills of the worker and the ingress IP.
    static func drilledWorld(nodeLostAfter: String = "2s", up: Bool = true) async throws -> World {
        let world = try World(controlPlanes: 3, workers: 2)
        let spec = LoopbackCloud.spec(cluster: "wire", controlPlanes: 3, workers: 2) + """
              replacement:
                mode: automatic
                nodeLostAfter: \(nodeLostAfter)
            drills:
              schedule: "0 3 * * 0"
              scenarios: [lose-controlplane, lose-worker, move-ingress-ip]
              guards:
                requireHealthy: true
                minReadyControlPlanes: 2
                maxDuration: 2m
              heartbeatURLEnv: DRILL_HEARTBEAT_URL

            """
        try world.cli.write("clusters/wire.yaml", spec)
        guard up else { return world }
        let up = try await world.up()
        try #require(up.status == 0, "\(up.stderr)\n\(world.cloud.failures)")
        return world
    }

    static let drillFlags = ["--poll-interval", "200ms", "--timeout", "120s"]

    func history(_ world: World) throws -> [DrillReport] {
        try DrillHistory(directory: world.cli.home.appendingPathComponent("wire/drills")).load()
    }

    func lease(_ world: World) -> JSONValue? {
        world.cloud.kubernetes.model.objects.object(apiVersion: "coordination.k8s.io/v1", kind: "Lease", namespace: "kube-system", name: "clusterctl-drill")
    }

    /// The drill lease as another machine's clusterctl writes it, through the API server.
    func foreignLease(_ world: World, holder: String, now: @escaping @Sendable () -> Date = { Date() }) throws -> KubernetesDrillLease {
        KubernetesDrillLease(api: KubernetesClient(kubeconfig: try world.cloud.kubernetes.adminKubeconfig()), holder: holder, now: now)
    }

    func serverIDs(_ world: World, named name: String) -> [Int] {
        world.cloud.hetzner.servers.filter { $0.name == name }.map(\.id)
    }

    @Test func loseWorkerPowersItOffAndTheReplacementIsReadyWithReportAndRTO() async throws {
        let world = try await Self.drilledWorld()
        let before = serverIDs(world, named: "wire-worker-2")
        let monitor = try HeartbeatMonitorModel()
        let started = ContinuousClock.now
        let run = try await world.run(
            ["drill", "run", "wire", "--scenario", "lose-worker", "-o", "json"] + Self.drillFlags, environment: ["DRILL_HEARTBEAT_URL": monitor.uptimeKumaURL])
        let took = ContinuousClock.now - started
        #expect(run.status == 0, "\(run.stderr)\n\(run.stdout)")
        let reports = try history(world)
        let report = try #require(reports.last)
        #expect(reports.count == 1)
        #expect(report.scenario == "lose-worker" && report.target == "wire-worker-2")
        #expect(report.outcome == .passed, "\(report.abortReason ?? "")")
        #expect(!report.simulated)
        let detection = try #require(report.detectionSeconds)
        let rto = try #require(report.rtoSeconds)
        #expect(detection >= 0 && detection < 5, "detection \(detection)")
        // nodeLostAfter (2 s) is waited out before the replacement; RTO ends with it healthy.
        #expect(rto >= 2 && rto < took.inSeconds, "RTO \(rto), drill took \(took)")
        #expect(report.steps.map(\.name).contains("inject") && report.steps.map(\.name).contains("wait"), "\(report.steps.map(\.name))")
        #expect(report.steps.last?.name == "verify" && report.steps.last?.passed == true)
        #expect(report.probes.contains { $0.phase == .during }, "probes ran while the worker was off")
        let markdown = world.cli.home.appendingPathComponent("wire/drills/\(report.id).md")
        #expect(FileManager.default.fileExists(atPath: markdown.path))
        let printed = try DrillReport.decoder().decode([String: [DrillReport]].self, from: Data(run.stdout.utf8))
        #expect(printed["reports"] == [report])
        print("lose-worker over the wire: detection \(detection) s, RTO \(rto) s, drill \(took)")
        // One heartbeat with the RTO, and the textfile metrics, as for a simulated run.
        #expect(monitor.received.map(\.up) == [true])
        #expect(monitor.received.first?.ping == Int((rto * 1000).rounded()), "\(monitor.received)")
        let prom = try String(contentsOf: world.cli.home.appendingPathComponent("wire/drills/clusterctl_drill_wire.prom"), encoding: .utf8)
        let (samples, problems) = PrometheusTextFormat.parse(prom)
        #expect(problems.isEmpty, "\(problems)")
        #expect(samples.first { $0.name == "clusterctl_drill_rto_seconds" && $0.labels["scenario"] == "lose-worker" }?.value == rto)
        #expect(samples.first { $0.name == "clusterctl_drill_success" && $0.labels["scenario"] == "lose-worker" }?.value == 1)

        // The worker was powered off through the provider, then replaced under its name.
        #expect(world.cloud.hetzner.requests.contains { $0.method == "POST" && $0.path.hasSuffix("/servers/\(before.first ?? 0)/actions/poweroff") })
        let after = serverIDs(world, named: "wire-worker-2")
        #expect(after.count == 1 && after != before, "before \(before), after \(after)")
        #expect(world.cloud.hetzner.servers.first { $0.name == "wire-worker-2" }?.status == "running")
        #expect(world.cloud.kubernetes.model.node("wire-worker-2")?.ready == true)
        // The lease is free again: the Lease stays, with no holder (as client-go releases it).
        let stored = try #require(lease(world))
        #expect(stored["spec"]?["holderIdentity"]?.stringValue ?? "" == "", "\(stored)")

        let history = try await world.run(["drill", "history", "wire"])
        #expect(history.status == 0, "\(history.stderr)")
        #expect(history.stdout.contains("lose-worker") && history.stdout.contains("passed"), "\(history.stdout)")
        await world.stop()
    }

    @Test func loseControlPlaneReplacesItsEtcdMemberAndNode() async throws {
        let world = try await Self.drilledWorld()
        let holderID = try #require(world.cloud.hetzner.floatingIPServer("api"))
        let run = try await world.run(["drill", "run", "wire", "--scenario", "lose-controlplane"] + Self.drillFlags)
        #expect(run.status == 0, "\(run.stderr)\n\(run.stdout)")
        let report = try #require(try history(world).last)
        let target = try #require(report.target)
        #expect(report.scenario == "lose-controlplane" && target.hasPrefix("wire-cp-"))
        #expect(world.cloud.hetzner.servers.first { $0.id == holderID }?.name != target, "the ingress IP's holder is not the one drilled")
        #expect(report.outcome == .passed, "\(report.abortReason ?? "")")
        #expect(report.steps.map(\.name).contains("remove-etcd-member"), "\(report.steps.map(\.name))")
        print("lose-controlplane over the wire: detection \(report.detectionSeconds ?? -1) s, RTO \(report.rtoSeconds ?? -1) s")
        #expect(try await world.etcdMembers() == ["wire-cp-1", "wire-cp-2", "wire-cp-3"])
        #expect(world.cloud.talos.etcdClusterCount == 1 && world.cloud.talos.bootstrapCount == 1)
        #expect(world.cloud.kubernetes.model.node(target)?.ready == true)
        await world.stop()
    }

    @Test func moveIngressIPMovesTheFloatingIPAndPowersTheOldHolderBackOn() async throws {
        let world = try await Self.drilledWorld()
        // The floating IP answers (Talos API, port 50000) at whichever running server holds it.
        let route = try await LoopbackFloatingIPRoute(cloud: world.cloud, floatingIP: "api")
        let holderID = try #require(world.cloud.hetzner.floatingIPServer("api"))
        let holder = try #require(world.cloud.hetzner.servers.first { $0.id == holderID }?.name)

        let started = ContinuousClock.now
        let run = try await world.run(["drill", "run", "wire", "--scenario", "move-ingress-ip"] + Self.drillFlags)
        let took = ContinuousClock.now - started
        #expect(run.status == 0, "\(run.stderr)\n\(run.stdout)")
        let report = try #require(try history(world).last)
        #expect(report.scenario == "move-ingress-ip" && report.target == holder)
        #expect(report.outcome == .passed, "\(report.abortReason ?? "")")
        let rto = try #require(report.rtoSeconds)
        // The IP moves at once (no nodeLostAfter): RTO ends when it answers at the new holder.
        #expect(rto > 0 && rto < took.inSeconds, "RTO \(rto), drill took \(took)")
        #expect(report.steps.map(\.name).contains("power-on"), "the old holder is powered back on: \(report.steps.map(\.name))")
        print("move-ingress-ip over the wire: detection \(report.detectionSeconds ?? -1) s, RTO \(rto) s, drill \(took)")

        let newHolderID = try #require(world.cloud.hetzner.floatingIPServer("api"))
        #expect(newHolderID != holderID, "the floating IP moved")
        #expect(world.cloud.hetzner.servers.first { $0.id == newHolderID }?.name.hasPrefix("wire-cp-") == true)
        // The old holder is the same machine, powered on again and Ready.
        #expect(world.cloud.hetzner.servers.first { $0.id == holderID }?.status == "running")
        #expect(world.cloud.talos.isUp(try world.address(of: holder)))
        #expect(world.cloud.kubernetes.model.node(holder)?.ready == true)
        #expect(world.cloud.hetzner.requests.contains { $0.path.hasSuffix("/servers/\(holderID)/actions/poweron") })
        await route.stop()
        await world.stop()
    }

    @Test func aClusterWithNoRunningControlPlaneIsRefusedNamingWhereTheLeaseLives() async throws {
        let world = try await Self.drilledWorld(up: false)
        let run = try await world.run(["drill", "run", "wire"] + Self.drillFlags)
        #expect(run.status == 3, "\(run.stderr)")
        #expect(
            run.stderr.contains("error: cannot take the drill lease of cluster wire (the Lease kube-system/clusterctl-drill): no control plane of the cluster runs yet"),
            "\(run.stderr)")
        #expect(run.stderr.contains("nothing was changed") && run.stderr.contains("hint: "), "\(run.stderr)")
        let stop = try await world.run(["drill", "stop", "wire"])
        #expect(stop.status == 3, "\(stop.stderr)")
        #expect(stop.stderr.contains("error: cannot read the drill lease of cluster wire"), "\(stop.stderr)")
        #expect(!run.stderr.contains("Fatal error") && !stop.stderr.contains("Fatal error"))
        #expect(world.cloud.hetzner.servers.isEmpty, "nothing was created")
        await world.stop()
    }

    @Test func aDrillIsRefusedWhileAnotherMachineHoldsTheLeaseAndStopRepairsWhatADeadOneLeft() async throws {
        let world = try await Self.drilledWorld()
        // A degraded cluster is refused first: a kubelet stops posting.
        world.cloud.holdNotReady("wire-worker-1")
        world.cloud.kubernetes.model.setNodeReady("wire-worker-1", false)
        let degraded = try await world.run(["drill", "run", "wire"] + Self.drillFlags)
        #expect(degraded.status == 3, "\(degraded.stderr)")
        #expect(degraded.stderr.contains("cluster wire is not healthy, so no drill was started") && degraded.stderr.contains("not Ready: wire-worker-1"), "\(degraded.stderr)")
        world.cloud.release("wire-worker-1")
        world.cloud.kubernetes.model.setNodeReady("wire-worker-1", true)

        let alice = try foreignLease(world, holder: "alice@elsewhere pid 7")
        try await alice.acquire(DrillLeaseRecord(holder: alice.holder, command: "clusterctl drill run wire", acquiredAt: Date()))
        try await alice.recordFault(node: nil, scenario: "lose-controlplane")
        let refused = try await world.run(["drill", "run", "wire", "--scenario", "lose-worker"] + Self.drillFlags)
        #expect(refused.status == 3, "\(refused.stderr)")
        #expect(refused.stderr.contains("another drill holds this cluster's drill lease: alice@elsewhere pid 7"), "\(refused.stderr)")
        #expect(refused.stderr.contains("running lose-controlplane"), "\(refused.stderr)")
        #expect(!world.cloud.hetzner.requests.contains { $0.path.hasSuffix("/actions/poweroff") }, "nothing was powered off")
        #expect(try history(world).isEmpty)

        // Alice's drill powered the worker off and died: its lease expired with the fault on record.
        let off = try await world.run(["node", "power", "wire", "wire-worker-2", "off"])
        #expect(off.status == 0, "\(off.stderr)")
        let dead = try foreignLease(world, holder: "alice@elsewhere pid 7", now: { Date().addingTimeInterval(-600) })
        try await dead.recordFault(node: "wire-worker-2", scenario: "lose-worker")
        let stop = try await world.run(["drill", "stop", "wire"] + Self.drillFlags)
        #expect(stop.status == 0, "\(stop.stderr)")
        #expect(stop.stdout.contains("wire-worker-2, powered off by the drill of alice@elsewhere pid 7, is repaired"), "\(stop.stdout)")
        #expect(world.cloud.kubernetes.model.node("wire-worker-2")?.ready == true)
        #expect(world.cloud.hetzner.servers.filter { $0.name == "wire-worker-2" }.map(\.status) == ["running"])
        #expect(lease(world)?["spec"]?["holderIdentity"]?.stringValue ?? "" == "", "the lease is released")
        let again = try await world.run(["drill", "stop", "wire"])
        #expect(again.stdout.contains("No drill is running"), "\(again.stdout)\(again.stderr)")
        await world.stop()
    }

    @Test func drillStopReachesADrillRunningOnAnotherMachineThroughTheLeaseAndItRepairs() async throws {
        // nodeLostAfter 10m: only the stop ends the fault early.
        let world = try await Self.drilledWorld(nodeLostAfter: "10m")
        // The drill runs on another machine: a clusterctl directory of its own, with the
        // cluster's secrets and nothing else, so nothing but the cluster connects the two.
        let elsewhere = world.cli.workDirectory.appendingPathComponent("elsewhere")
        try SecretsStore(directory: elsewhere.appendingPathComponent("wire")).save(world.secrets)
        let drill = try world.cli.start(
            ["drill", "run", "wire", "--scenario", "lose-worker"] + Self.drillFlags,
            environment: world.cloud.environment.merging(["CLUSTERCTL_HOME": elsewhere.path]) { _, new in new })
        var faultNode: String?
        for _ in 0..<300 where faultNode == nil {
            try await Task.sleep(for: .milliseconds(100))
            faultNode = lease(world)?.value(at: ["metadata", "annotations", "clusterctl.dev/drill-fault-node"])?.stringValue
        }
        #expect(faultNode == "wire-worker-2", "\(String(describing: lease(world)))")
        #expect(world.cloud.hetzner.servers.first { $0.name == "wire-worker-2" }?.status == "off")

        let stop = try await world.run(["drill", "stop", "wire"])
        #expect(stop.status == 0, "\(stop.stderr)")
        #expect(stop.stdout.contains("ended (its report is in the drill history where it ran)"), "\(stop.stdout)")
        #expect(stop.stdout.contains("The cluster is repaired"), "\(stop.stdout)")
        let ended = await withCheckedContinuation { continuation in
            Thread.detachNewThread { continuation.resume(returning: drill.wait()) }
        }
        #expect(ended.status == 1, "\(ended.stderr)")
        #expect(try history(world).isEmpty, "this machine ran no drill")
        let report = try #require(try DrillHistory(directory: elsewhere.appendingPathComponent("wire/drills")).load().last)
        #expect(report.outcome == .aborted)
        #expect(report.abortReason?.hasPrefix("stopped by `clusterctl drill stop`") == true, "\(report.abortReason ?? "")")
        #expect(!report.steps.contains { $0.name == "wait" }, "the stop skips nodeLostAfter")
        #expect(world.cloud.kubernetes.model.node("wire-worker-2")?.ready == true)
        #expect(lease(world)?["spec"]?["holderIdentity"]?.stringValue ?? "" == "", "the lease is released")
        await world.stop()
    }
}
