/// The simulated cluster's Kubernetes objects beyond the node list: cordons, pods, workloads and
/// PodDisruptionBudgets. Optional in ``SimulatorState/ClusterState`` so state files written
/// before it existed still load.
struct SimulatedKubernetesObjects: Sendable, Codable, Hashable {
    /// Cordoned node names (`spec.unschedulable`).
    var cordoned: Set<String> = []
    /// Pods by `namespace/name`.
    var pods: [String: SimulatedPod] = [:]
    /// ReplicaSet-managed workloads by `namespace/name`: their controller keeps `replicas` pods
    /// that are not terminating, as a ReplicaSet does.
    var workloads: [String: SimulatedWorkload] = [:]
    var nextPodSerial = 1
    /// Machines (provider ids) whose Node object was deleted: their kubelet does not register
    /// again in the simulation, since the machine is about to be reset or deleted. (A real
    /// kubelet that keeps running would re-register.)
    var deregistered: Set<String> = []

    /// The workload every Talos cluster starts with: CoreDNS, two replicas in kube-system,
    /// allowed on control planes (Talos docs, "What's included": CoreDNS deployment).
    static func initial() -> SimulatedKubernetesObjects {
        var objects = SimulatedKubernetesObjects()
        let coredns = SimulatedWorkload(namespace: "kube-system", name: "coredns", replicas: 2, minAvailable: nil, onControlPlanes: true)
        objects.workloads[coredns.key] = coredns
        return objects
    }
}

/// A Deployment's ReplicaSet, reduced to what draining meets, with its PodDisruptionBudget.
struct SimulatedWorkload: Sendable, Codable, Hashable {
    var namespace: String
    var name: String
    var replicas: Int
    /// The budget's `minAvailable`, when the workload has a PodDisruptionBudget (named like it).
    var minAvailable: Int?
    /// Tolerates the control-plane taint, so it may run there.
    var onControlPlanes: Bool

    var key: String { "\(namespace)/\(name)" }
}

/// One simulated pod.
struct SimulatedPod: Sendable, Codable, Hashable {
    enum Owner: String, Sendable, Codable, Hashable {
        case daemonSet, replicaSet, mirror
    }

    var namespace: String
    var name: String
    /// Nil while no schedulable node exists (Pending, unscheduled).
    var node: String?
    var owner: Owner
    /// The owning DaemonSet or workload name.
    var ownerName: String
    /// Running from this time on.
    var startedAt: Double
    /// When eviction or deletion set `deletionTimestamp`; gone `grace` seconds later.
    var deletingSince: Double?
    var grace: Double

    var key: String { "\(namespace)/\(name)" }
}
