import ClusterKit
import Foundation

/// Secrets plus machine configs for a 3-node and a 300-node cluster, for both config contracts:
/// the time each phase takes and the share spent generating private keys (RSA 4096 for the
/// service account dominates; its generation time varies run to run, as RSA prime search does).
enum ConfigBenchmark {
    static func run() async throws -> String {
        var report = ["Talos secrets + machine configs (generate bundle, render every node, talosconfig + kubeconfig)"]
        report.append(
            "scenario                       total      secrets    configs    per-node   clients    keygen     keygen%  max config")
        for (label, controlPlanes, workers) in [("3-node", 3, 0), ("300-node", 3, 297)] {
            for version in [SemanticVersion(major: 1, minor: 13, patch: 9), SemanticVersion(major: 1, minor: 14, patch: 0)] {
                report.append(try scenario(label: label, version: version, controlPlanes: controlPlanes, workers: workers))
            }
        }
        return report.joined(separator: "\n")
    }

    private static func scenario(label: String, version: SemanticVersion, controlPlanes: Int, workers: Int) throws -> String {
        let spec = makeSpec(version: version, controlPlanes: controlPlanes, workers: workers)
        let nodes = makeNodes(spec)
        let clock = ContinuousClock()
        let now = Date()
        var secretsTime = Duration.zero
        var configsTime = Duration.zero
        var clientsTime = Duration.zero
        var largest = 0
        let start = clock.now
        let (_, keyGeneration) = try TalosPKI.measuringKeyGeneration { () throws -> Void in
            var mark = clock.now
            let secrets = try SecretsBundle.generate(talosVersion: version, now: now)
            secretsTime = clock.now - mark
            mark = clock.now
            let renderer = MachineConfigRenderer(spec: spec, secrets: secrets)
            for node in nodes {
                largest = max(largest, try renderer.render(node).yaml.utf8.count)
            }
            configsTime = clock.now - mark
            mark = clock.now
            let controlPlaneAddresses = nodes.filter { $0.role == .controlPlane }.compactMap(\.addresses.first)
            _ = try ClientConfigs.talosconfig(
                cluster: spec.name, secrets: secrets, controlPlaneAddresses: controlPlaneAddresses,
                nodes: nodes.compactMap(\.addresses.first), now: now)
            _ = try ClientConfigs.kubeconfig(cluster: spec.name, server: try renderer.endpointURL(), secrets: secrets, now: now)
            clientsTime = clock.now - mark
        }
        let total = clock.now - start
        let share = total.inSeconds > 0 ? 100 * keyGeneration.inSeconds / total.inSeconds : 0
        let perNode = configsTime / nodes.count
        let name = "\(label) \(version) (\(ConfigContract(talosVersion: version) == .classic ? "classic" : "multi-doc"))"
        return [
            name.padding(toLength: 31, withPad: " ", startingAt: 0),
            ms(total), ms(secretsTime), ms(configsTime), ms(perNode), ms(clientsTime), ms(keyGeneration),
            String(format: "%6.1f%%", share).padding(toLength: 9, withPad: " ", startingAt: 0),
            "\(largest) B",
        ].joined()
    }

    private static func ms(_ duration: Duration) -> String {
        String(format: "%8.1fms ", duration.inSeconds * 1000).padding(toLength: 11, withPad: " ", startingAt: 0)
    }

    private static func makeSpec(version: SemanticVersion, controlPlanes: Int, workers: Int) -> ClusterSpec {
        let pods = (try? CIDR(parsing: "10.244.0.0/16")).map { [$0] } ?? []
        let services = (try? CIDR(parsing: "10.96.0.0/12")).map { [$0] } ?? []
        var pools = [
            PoolSpec(name: "cp", role: .controlPlane, provider: "sim", count: controlPlanes, size: MachineSize(cpus: 2, memoryMiB: 4096))
        ]
        if workers > 0 {
            pools.append(PoolSpec(
                name: "workers", role: .worker, provider: "sim", count: workers, size: MachineSize(cpus: 4, memoryMiB: 8192),
                labels: ["topology.kubernetes.io/zone": "sim-1"], taints: [Taint(key: "dedicated", value: "batch", effect: .noSchedule)],
                patches: [ConfigPatch(kind: .strategicMerge, yaml: "apiVersion: v1alpha1\nkind: KubePrismConfig\nport: 7446\n", origin: "bench")]
                    .filter { _ in ConfigContract(talosVersion: version) == .multiDocument }))
        }
        return ClusterSpec(
            name: "bench",
            talos: TalosSettings(version: version, image: "default"),
            kubernetes: KubernetesSettings(version: SemanticVersion(major: 1, minor: 34, patch: 1)),
            endpoint: EndpointSpec(kind: .dns("k8s.bench.example")),
            network: NetworkSpec(podCIDRs: pods, serviceCIDRs: services, kubeSpan: true, discovery: true),
            providers: [ProviderSpec(name: "sim", settings: .simulator(SimulatorSettings(site: "sim")))],
            pools: pools)
    }

    private static func makeNodes(_ spec: ClusterSpec) -> [NodeDescription] {
        var nodes: [NodeDescription] = []
        for pool in spec.pools {
            for index in 1...max(pool.count, 1) where pool.count > 0 {
                let n = nodes.count + 10
                nodes.append(NodeDescription(
                    name: "\(spec.name)-\(pool.name)-\(index)", role: pool.role, pool: pool.name,
                    addresses: ["10.\(n / 65536 % 256).\(n / 256 % 256).\(n % 256)"],
                    installImage: ImageFactory.installerImage(
                        platform: "metal", schematicID: String(repeating: "0", count: 64), talosVersion: spec.talos.version)))
            }
        }
        return nodes
    }
}
