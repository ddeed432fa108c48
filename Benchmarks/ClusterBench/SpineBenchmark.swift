import ClusterKit
import Foundation
import Provisioners

/// `up` of 3-, 30- and 300-node specs on the simulator's virtual clock: simulated bring-up time
/// against the critical path, and the real CPU time and peak memory of planning and executing.
enum SpineBenchmark {
    /// A hybrid spec like our user's, scaled: a third of the control plane at home, workers split
    /// between the home hypervisor and the cloud.
    static func spec(nodes: Int) throws -> ClusterSpec {
        let controlPlanes = nodes <= 3 ? nodes : 3
        let workers = nodes - controlPlanes
        let homeWorkers = workers / 2
        return ClusterSpec(
            name: "bench\(nodes)",
            talos: TalosSettings(version: SemanticVersion(major: 1, minor: 13, patch: 9), image: "default", schematicID: String(repeating: "ab", count: 32)),
            kubernetes: KubernetesSettings(version: SemanticVersion(major: 1, minor: 34, patch: 1)),
            endpoint: EndpointSpec(kind: .dns("k8s.bench.example.net")),
            network: NetworkSpec(podCIDRs: [try CIDR(parsing: "10.244.0.0/16")], serviceCIDRs: [try CIDR(parsing: "10.96.0.0/12")], kubeSpan: true, discovery: true),
            providers: [
                ProviderSpec(name: "hcloud", settings: .hetzner(HetznerSettings(token: .environment("HCLOUD_TOKEN"), locations: ["fsn1", "nbg1"], network: nil, firewall: nil))),
                ProviderSpec(name: "workstation", settings: .libvirt(LibvirtSettings(
                    ssh: SSHTarget(host: "kvm.home.arpa", port: 22, user: "clusterctl", keyFile: "~/.ssh/id_ed25519", passphrase: nil, knownHostsFile: "~/.ssh/known_hosts"),
                    uri: "qemu:///system", storagePool: "default", storageDir: nil, bridge: "br0", network: nil))),
            ],
            pools: [
                PoolSpec(name: "cp", role: .controlPlane, provider: "hcloud", count: controlPlanes - controlPlanes / 3, size: MachineSize(serverType: "cx32"), locations: ["fsn1", "nbg1"]),
                PoolSpec(name: "cp-home", role: .controlPlane, provider: "workstation", count: controlPlanes / 3, size: MachineSize(cpus: 2, memoryMiB: 4096, diskGiB: 40)),
                PoolSpec(name: "big", role: .worker, provider: "workstation", count: homeWorkers, size: MachineSize(cpus: 8, memoryMiB: 32768, diskGiB: 200)),
                PoolSpec(name: "cloud", role: .worker, provider: "hcloud", count: workers - homeWorkers, size: MachineSize(serverType: "cpx31"), locations: ["fsn1", "nbg1"]),
            ].filter { $0.count > 0 },
            gitops: GitOpsSpec(url: "ssh://git@github.com/example/fleet.git", branch: "main", path: "clusters/bench", credentials: nil))
    }

    /// Writes the three Talos facts the simulator reads; the config generator has its own benchmark.
    struct SummaryConfigs: MachineConfigRendering {
        var cluster: String
        func render(node: NodeIdentity, addresses: [String], floatingIP: String?) throws -> MachineConfigPayload {
            MachineConfigPayload("version: v1alpha1\nmachine:\n  type: \(node.role.rawValue)\ncluster:\n  id: bench\n  clusterName: \(cluster)\n")
        }
    }

    static func run() throws -> String {
        var lines = ["## up on the simulator (virtual clock)", "",
                     "| nodes | simulated bring-up | critical path | ratio | plan (CPU) | execute (CPU) | peak RSS |",
                     "|---:|---:|---:|---:|---:|---:|---:|"]
        for size in [3, 30, 300] {
            let spec = try spec(nodes: size)
            let world = SimulatedWorld(state: SimulatorState(seed: 42))
            let backend = ClusterBackend.simulated(spec: spec, world: world, configs: SummaryConfigs(cluster: spec.name))
            let loop = SimulationRunLoop(clock: world.clock)
            let observed = try loop.run { try await ObservedCluster.observe(spec: spec, backend: backend) }

            // Planning, repeated to get a stable figure.
            let repetitions = 50
            let planCPU = cpuTime {
                for _ in 0..<repetitions { _ = Planner.plan(spec: spec, observed: observed) }
            } / Double(repetitions)
            let plan = Planner.plan(spec: spec, observed: observed)

            var report: ExecutionReport?
            let executeCPU = try cpuTime {
                report = try loop.run { try await ClusterExecutor(spec: spec, backend: backend).apply(plan, observed: observed) }
            }
            guard let report, report.succeeded, report.healthy else {
                throw ClusterError(.partialFailure, "the \(size)-node bring-up failed: \(String(describing: report?.failures))")
            }
            let floor = world.bringUpFloor(nodes: plan.desired, bootstrapNode: plan.bootstrapNode ?? "", gitops: true)
            let ratio = report.elapsed.inSeconds / floor.inSeconds
            lines.append("| \(size) | \(report.elapsed.formattedSeconds) | \(floor.formattedSeconds) | \(String(format: "%.3f", ratio)) | \(milliseconds(planCPU)) | \(milliseconds(executeCPU)) | \(peakMemoryMiB()) MiB |")
        }
        lines.append("")
        lines.append("Critical path: the slowest node's own chain (image, create, boot, install, etcd and API start on the bootstrap node, kubelet Ready) and Flux's first reconcile, with no polling or API limits. Ratio target: at most 1.2. Planning target: 300 nodes under 100 ms.")
        return lines.joined(separator: "\n")
    }

    static func milliseconds(_ seconds: Double) -> String { String(format: "%.2f ms", seconds * 1000) }

    /// CPU seconds (user + system) the block used.
    static func cpuTime(_ block: () throws -> Void) rethrows -> Double {
        let before = usage()
        try block()
        let after = usage()
        return after - before
    }

    static func usage() -> Double {
        var value = rusage()
        getrusage(RUSAGE_SELF.rawValue, &value)
        return Double(value.ru_utime.tv_sec + value.ru_stime.tv_sec) + Double(value.ru_utime.tv_usec + value.ru_stime.tv_usec) / 1e6
    }

    static func peakMemoryMiB() -> Int {
        var value = rusage()
        getrusage(RUSAGE_SELF.rawValue, &value)
        return value.ru_maxrss / 1024
    }
}
