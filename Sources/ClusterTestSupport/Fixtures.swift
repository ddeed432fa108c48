public import ClusterKit

/// Specs and stand-ins shared by the test targets.
public enum Fixtures {
    /// A hybrid spec like our user's: control planes at two Hetzner locations and at home,
    /// workers at home and in the cloud, Flux on `clusters/<name>`.
    public static func hybridSpec(name: String = "home", controlPlanes: Int = 3, homeWorkers: Int = 2, cloudWorkers: Int = 1) throws -> ClusterSpec {
        let cloudCP = controlPlanes - controlPlanes / 3
        return ClusterSpec(
            name: name,
            talos: TalosSettings(version: SemanticVersion(major: 1, minor: 13, patch: 9), image: "talos-default", schematicID: String(repeating: "ab", count: 32)),
            kubernetes: KubernetesSettings(version: SemanticVersion(major: 1, minor: 34, patch: 1)),
            endpoint: EndpointSpec(kind: .dns("k8s.\(name).example.net")),
            network: NetworkSpec(podCIDRs: [try CIDR(parsing: "10.244.0.0/16")], serviceCIDRs: [try CIDR(parsing: "10.96.0.0/12")], kubeSpan: true, discovery: true),
            providers: [
                ProviderSpec(name: "hcloud", settings: .hetzner(HetznerSettings(token: .environment("HCLOUD_TOKEN"), locations: ["fsn1", "nbg1"], network: nil, firewall: nil))),
                ProviderSpec(name: "workstation", settings: .libvirt(LibvirtSettings(
                    ssh: SSHTarget(host: "workstation.lan", port: 22, user: "clusterctl", keyFile: "~/.ssh/id_ed25519", passphrase: nil, knownHostsFile: "~/.ssh/known_hosts"),
                    uri: "qemu:///system", storagePool: "default", storageDir: nil, bridge: "br0", network: nil))),
                ProviderSpec(name: "lab", settings: .simulator(SimulatorSettings(site: "lab"))),
            ],
            pools: [
                PoolSpec(name: "cp", role: .controlPlane, provider: "hcloud", count: cloudCP, size: MachineSize(serverType: "cx22"), locations: ["fsn1", "nbg1"]),
                PoolSpec(name: "cp-home", role: .controlPlane, provider: "workstation", count: controlPlanes - cloudCP, size: MachineSize(cpus: 2, memoryMiB: 4096, diskGiB: 20)),
                PoolSpec(name: "workers", role: .worker, provider: "workstation", count: homeWorkers, size: MachineSize(cpus: 8, memoryMiB: 32768, diskGiB: 200)),
                PoolSpec(name: "edge", role: .worker, provider: "lab", count: cloudWorkers, size: MachineSize(cpus: 2, memoryMiB: 4096, diskGiB: 20)),
            ],
            gitops: GitOpsSpec(url: "ssh://git@github.com/example/platform.git", branch: "main", path: "clusters/\(name)", credentials: .file("~/.ssh/flux"))
        )
    }
}

/// A renderer that writes just the parts of a Talos config the simulator reads (role, cluster
/// name and id), for executor tests that do not exercise the real generator.
public struct MinimalConfigRenderer: MachineConfigRendering {
    public var clusterName: String
    public var clusterID: String

    public init(clusterName: String, clusterID: String = "test-cluster-id") {
        self.clusterName = clusterName
        self.clusterID = clusterID
    }

    public func render(node: NodeIdentity, addresses: [String], floatingIP: String?) throws -> MachineConfigPayload {
        MachineConfigPayload("""
            version: v1alpha1
            machine:
              type: \(node.role.rawValue)
              network:
                hostname: \(node.node)
            cluster:
              id: \(clusterID)
              clusterName: \(clusterName)

            """)
    }
}

import Synchronization

/// Collects execution events for assertions.
public final class EventRecorder: Sendable {
    private let storage = Mutex<[ExecutionEvent]>([])

    public init() {}

    public var events: [ExecutionEvent] { storage.withLock { $0 } }

    public var sink: ExecutionEventSink {
        { event in self.storage.withLock { $0.append(event) } }
    }
}

/// A value shared across closures and threads, for tests.
public final class SharedBox<Value: Sendable>: Sendable {
    private let storage: Mutex<Value>

    public init(_ value: Value) { storage = Mutex(value) }

    public var value: Value {
        get { storage.withLock { $0 } }
        set { storage.withLock { $0 = newValue } }
    }
}
