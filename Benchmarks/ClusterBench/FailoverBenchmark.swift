import ClusterKit
import Foundation
import Provisioners

/// The watcher and the failover playbooks on the simulator: per scenario, how long until the
/// lost node is detected and until the cluster is whole again, against the floor (the
/// replacement's own create, boot, install, join and kubelet; the floating IP's routing delay).
enum FailoverBenchmark {
    struct Scenario {
        var name: String
        var node: String
    }

    static func run() throws -> String {
        var lines = ["## Failover on the simulator (virtual clock)", "",
                     "| scenario | detection | recovery (loss to whole) | floor | ratio | playbook |",
                     "|---|---:|---:|---:|---:|---|"]
        let lossAt: Duration = .seconds(30)
        for scenario in [Scenario(name: "lose-controlplane", node: "bench6-cp-2"), Scenario(name: "lose-worker", node: "bench6-big-1"),
                         Scenario(name: "move-ingress-ip", node: "bench6-cp-1")] {
            var spec = try SpineBenchmark.spec(nodes: 6)
            spec.failover = FailoverSpec(
                ingressIP: IngressIPSpec(name: "ingress", provider: "hcloud", candidatePools: ["cp"]),
                // Replace at once: the figure is the machinery's, not the operator's patience.
                replacement: ReplacementPolicy(mode: scenario.name == "move-ingress-ip" ? .manual : .automatic, nodeLostAfter: .zero))
            let world = SimulatedWorld(state: SimulatorState(seed: 42))
            let backend = ClusterBackend.simulated(spec: spec, world: world, configs: SpineBenchmark.SummaryConfigs(cluster: spec.name))
            let loop = SimulationRunLoop(clock: world.clock)
            let frozen = spec
            let up = try loop.run {
                let observed = try await ObservedCluster.observe(spec: frozen, backend: backend)
                return try await ClusterExecutor(spec: frozen, backend: backend).apply(Planner.plan(spec: frozen, observed: observed), observed: observed)
            }
            guard up.succeeded, up.healthy else { throw ClusterError(.partialFailure, "the bring-up failed: \(up.failures)") }
            let placement = try loop.run { Planner.plan(spec: frozen, observed: try await ObservedCluster.observe(spec: frozen, backend: backend)).desired }
                .first { $0.identity.node == scenario.node }
            let watcher = FailoverWatcher(spec: spec, backend: backend)
            let node = scenario.node
            let report = try loop.run { try await world.losing(node, after: lossAt) { try await watcher.run(for: .seconds(1200)) } }
            guard let detection = report.detections.first(where: { $0.node == node }) else {
                throw ClusterError(.partialFailure, "\(scenario.name): \(node) was never detected")
            }
            let detected = detection.detected - lossAt
            let playbook = report.playbooks.last
            guard let playbook, playbook.succeeded else {
                throw ClusterError(.partialFailure, "\(scenario.name): the playbook did not complete: \(playbook?.reason ?? "none ran")")
            }
            let recovery: Duration
            let floor: Duration
            if playbook.playbook == .ingressIP {
                recovery = detected + (playbook.elapsed)
                floor = world.timings.floatingIPRouting
            } else {
                recovery = detected + (playbook.recoveredAfter ?? playbook.elapsed)
                floor = placement.map { world.replacementFloor($0) } ?? .zero
            }
            let ratio = floor > .zero ? recovery.inSeconds / floor.inSeconds : 0
            lines.append("| \(scenario.name) | \(detected.formattedSeconds) | \(recovery.formattedSeconds) | \(floor.formattedSeconds) | \(String(format: "%.2f", ratio)) | \(playbook.playbook.rawValue) \(playbook.outcome.rawValue) |")
        }
        lines.append("")
        lines.append("Detection: from the loss to two unanswered Talos probes (target: 15 s; Kubernetes alone needs 40-55 s). Recovery: from the loss until the replacement is Ready (and votes, for a control plane) or the floating IP answers at its new holder. Floor: the replacement's own create, boot, install, etcd join and kubelet, or the IP's routing delay.")
        return lines.joined(separator: "\n")
    }
}
