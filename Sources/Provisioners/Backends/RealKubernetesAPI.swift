public import ClusterKit
import Foundation
import Logging
import Synchronization

/// The Kubernetes API of a real cluster: a ``KubernetesClient`` built on first use from an admin
/// kubeconfig that a running control plane hands out over the Talos API (`Kubeconfig`, as
/// `talosctl kubeconfig` fetches it), so its server is the endpoint the nodes' configs carry.
///
/// Until a control plane runs and answers, ``isAPIServerUp()`` is false and the other calls
/// fail with a transient error, so the executor's pollers wait instead of giving up.
public final class RealKubernetesAPI: KubernetesAPI {
    /// The cluster's machines, read when the kubeconfig is needed.
    public typealias MachineList = @Sendable () async throws -> [ObservedMachine]

    private let talos: any TalosAPI
    private let machines: MachineList
    private let time: any TimeSource
    private let state = Mutex<(client: KubernetesClient, kubeconfig: String)?>(nil)

    public init(talos: any TalosAPI, machines: @escaping MachineList, time: any TimeSource = SystemTimeSource()) {
        self.talos = talos
        self.machines = machines
        self.time = time
    }

    /// The admin kubeconfig this client uses (a secret: never log it), fetched if need be.
    public func adminKubeconfig() async throws -> String {
        try await connected().kubeconfig
    }

    private func connected() async throws -> (client: KubernetesClient, kubeconfig: String) {
        if let ready = state.withLock({ $0 }) { return ready }
        let controlPlanes = try await machines()
            .filter { $0.identity.role == .controlPlane && $0.phase == .running && !$0.addresses.isEmpty }
            .sorted { $0.identity.node < $1.identity.node }
        guard !controlPlanes.isEmpty else {
            throw ClusterError(.kubernetes, "no control plane of the cluster runs yet, so there is no Kubernetes API to ask", isTransient: true)
        }
        var failures: [String] = []
        var transient = true
        for machine in controlPlanes {
            do {
                let text = try await talos.kubeconfig(via: machine)
                let kubeconfig = try Kubeconfig(parsing: text, source: "the admin kubeconfig from \(machine.identity.node)")
                // The executor reports waiting for the API itself; the HTTP layer's retry notes
                // while the API server is still coming up would only repeat it, line by line.
                var logger = Logger(label: "clusterctl.kubernetes")
                logger.logLevel = .warning
                let made = (client: KubernetesClient(kubeconfig: kubeconfig, time: time, logger: logger), kubeconfig: text)
                return state.withLock { current in
                    if let current { return current }
                    current = made
                    return made
                }
            } catch {
                failures.append("\(machine.identity.node): " + "\(error)".replacingOccurrences(of: "\n", with: " "))
                if (error as? any RetryClassifying)?.isTransient != true { transient = false }
            }
        }
        throw ClusterError(
            .kubernetes, "no control plane handed out an admin kubeconfig (" + failures.joined(separator: "; ") + ")",
            hint: transient ? nil : "check the Talos API with `clusterctl status`", isTransient: transient)
    }

    /// The client, connected on first use.
    func client() async throws -> KubernetesClient { try await connected().client }

    // MARK: KubernetesAPI

    public func isAPIServerUp() async throws -> Bool {
        let client: KubernetesClient
        do {
            client = try await self.client()
        } catch let error as ClusterError where error.isTransient {
            return false
        }
        return try await client.isAPIServerUp()
    }

    public func nodes() async throws -> [KubernetesNodeStatus] { try await client().nodes() }

    public func systemPods() async throws -> [KubernetesPod] { try await client().systemPods() }

    public func setUnschedulable(_ unschedulable: Bool, node: String) async throws {
        try await client().setUnschedulable(unschedulable, node: node)
    }

    public func pods(onNode node: String) async throws -> [KubernetesPod] { try await client().pods(onNode: node) }

    public func evict(_ pod: KubernetesPod) async throws -> KubernetesEviction { try await client().evict(pod) }

    public func deleteNode(_ name: String) async throws { try await client().deleteNode(name) }
}
