public import ClusterKit

/// The Kubernetes API of simulated clusters, with real state: nodes registered by their kubelets,
/// cordons, DaemonSet pods on every node (kube-proxy and the flannel CNI, Talos' defaults), the
/// control plane's static pods as mirror pods, ReplicaSet workloads (CoreDNS, and whatever a test
/// adds) that their controller keeps at size, PodDisruptionBudgets the Eviction API enforces, and
/// pods that terminate a grace period after eviction.
extension SimulatedWorld {
    /// DaemonSets on every node of a Talos cluster with its default CNI (Talos docs, "What's included").
    static let daemonSets = ["kube-proxy", "kube-flannel"]
    /// The static pods a Talos control plane runs, mirrored into the API by the kubelet.
    static let staticPods = ["kube-apiserver", "kube-controller-manager", "kube-scheduler"]

    func requireAPI(_ state: SimulatorState, cluster: String, now: Double) throws {
        guard isAPIUp(state, cluster: cluster, now: now) else {
            throw ProvisionerError(.transport, "the Kubernetes API of \(cluster) does not answer", isTransient: true)
        }
    }

    /// One Kubernetes API call: the API must answer; node and pod state is settled to `now` first.
    private func kubernetesCall<Value: Sendable>(
        cluster: String, node: String? = nil, _ body: @escaping @Sendable (inout SimulatedKubernetesObjects, SimulatorState, Double) throws -> Value
    ) async throws -> Value {
        try await perform(.kubernetes, provider: nil, node: node, latency: timings.talosLatency) { state, now in
            try self.requireAPI(state, cluster: cluster, now: now)
            self.settle(&state, cluster: cluster, now: now)
            var objects = state.clusters[cluster]?.kubernetes ?? .initial()
            defer { state.clusters[cluster, default: .init()].kubernetes = objects }
            self.settlePods(&objects, state, cluster: cluster, now: now)
            let value = try body(&objects, state, now)
            self.settlePods(&objects, state, cluster: cluster, now: now)
            return value
        }
    }

    func isAPIServerUp(cluster: String) async throws -> Bool {
        try await perform(.kubernetes, provider: nil, node: nil, latency: timings.talosLatency) { state, now in
            self.isAPIUp(state, cluster: cluster, now: now)
        }
    }

    func kubernetesNodes(cluster: String) async throws -> [KubernetesNodeStatus] {
        try await kubernetesCall(cluster: cluster) { objects, state, now in
            let machines = Self.machinesByID(state, cluster: cluster)
            // A deleted Node object is gone at once, whatever became of its machine.
            return (state.clusters[cluster]?.kubernetesNodes ?? [:]).filter { !objects.deregistered.contains($0.value) }.sorted { $0.key < $1.key }.map { name, providerID in
                let machine = machines[providerID]
                let ready = self.isNodeReady(machine, state, now: now)
                return KubernetesNodeStatus(
                    name: name, ready: ready, roles: machine?.config?.role == .controlPlane ? ["control-plane"] : [],
                    unschedulable: objects.cordoned.contains(name),
                    readyReason: ready ? "KubeletReady: kubelet is posting ready status" : "NodeStatusUnknown: Kubelet stopped posting node status.")
            }
        }
    }

    func systemPods(cluster: String) async throws -> [KubernetesPod] {
        try await kubernetesCall(cluster: cluster) { objects, _, now in
            objects.pods.values.filter { $0.namespace == "kube-system" }.sorted { $0.key < $1.key }.map { Self.view($0, now: now) }
        }
    }

    func pods(cluster: String, node: String) async throws -> [KubernetesPod] {
        try await kubernetesCall(cluster: cluster, node: node) { objects, _, now in
            objects.pods.values.filter { $0.node == node }.sorted { $0.key < $1.key }.map { Self.view($0, now: now) }
        }
    }

    func setUnschedulable(cluster: String, node: String, _ unschedulable: Bool) async throws {
        try await kubernetesCall(cluster: cluster, node: node) { objects, state, _ in
            guard state.clusters[cluster]?.kubernetesNodes[node] != nil else { throw Self.nodeNotFound(node) }
            if unschedulable { objects.cordoned.insert(node) } else { objects.cordoned.remove(node) }
        }
    }

    /// The Eviction API's rules (kubernetes `pkg/registry/core/pod/storage/eviction.go`): a pod
    /// already terminating, or not running yet, is deleted without consulting the budget; else a
    /// budget with no disruption left answers 429 with its name in the cause.
    func evict(cluster: String, pod reference: KubernetesPod) async throws -> KubernetesEviction {
        try await kubernetesCall(cluster: cluster, node: reference.node) { objects, _, now in
            guard var pod = objects.pods[reference.reference] else { return .alreadyGone }
            if pod.deletingSince != nil { return .evicted }
            if pod.owner == .replicaSet, now >= pod.startedAt, let workload = objects.workloads["\(pod.namespace)/\(pod.ownerName)"],
                let minAvailable = workload.minAvailable
            {
                let healthy = Self.healthyPods(objects, workload: workload, now: now)
                if healthy - minAvailable <= 0 {
                    return .blocked(
                        budget: workload.name,
                        message: "Cannot evict pod as it would violate the pod's disruption budget. The disruption budget \(workload.name) needs \(minAvailable) healthy pods and has \(healthy) currently")
                }
            }
            pod.deletingSince = now
            objects.pods[pod.key] = pod
            return .evicted
        }
    }

    func deleteNode(cluster: String, node: String) async throws {
        try await kubernetesCall(cluster: cluster, node: node) { objects, state, _ in
            guard let providerID = state.clusters[cluster]?.kubernetesNodes[node] else { return }
            // Deleting the Node deletes the pods bound to it (kubernetes/website `nodes.md`);
            // settlePods collects them once the node is gone, and controllers replace them.
            objects.cordoned.remove(node)
            objects.deregistered.insert(providerID)
        }
    }

    // MARK: Test and drill hooks

    /// Adds a ReplicaSet workload with `replicas` pods, and a PodDisruptionBudget of the same name
    /// when `minAvailable` is given; pods land on schedulable workers as the scheduler would.
    public func addWorkload(cluster: String, namespace: String = "default", name: String, replicas: Int, minAvailable: Int? = nil) {
        change { state, now in
            var objects = state.clusters[cluster]?.kubernetes ?? .initial()
            let workload = SimulatedWorkload(namespace: namespace, name: name, replicas: replicas, minAvailable: minAvailable, onControlPlanes: false)
            objects.workloads[workload.key] = workload
            settlePods(&objects, state, cluster: cluster, now: now)
            state.clusters[cluster, default: .init()].kubernetes = objects
        }
    }

    /// Changes a workload's PodDisruptionBudget, as `kubectl edit pdb` would.
    public func setDisruptionBudget(cluster: String, namespace: String = "default", name: String, minAvailable: Int?) {
        change { state, _ in
            state.clusters[cluster]?.kubernetes?.workloads["\(namespace)/\(name)"]?.minAvailable = minAvailable
        }
    }

    // MARK: Rules

    private static func machinesByID(_ state: SimulatorState, cluster: String) -> [String: SimulatedMachine] {
        Dictionary(machines(state, cluster: cluster).map { ($0.providerID, $0) }, uniquingKeysWith: { first, _ in first })
    }

    private func isNodeReady(_ machine: SimulatedMachine?, _ state: SimulatorState, now: Double) -> Bool {
        guard let machine else { return false }
        // A powered-off or lost node's kubelet stops posting, but the node stays Ready until the
        // node controller's grace period runs out (SimulatedWorld+Power.swift, SimulatedWorld+Loss.swift).
        if Self.isDark(machine, now: now) { return Self.nodeControllerSeesReady(machine, now: now) }
        if Self.isAlive(machine) && Self.talosStage(machine, now: now) == .running { return true }
        return notReadyAt(machine, state).map { now < $0 } ?? false
    }

    static func nodeNotFound(_ node: String) -> ProvisionerError {
        ProvisionerError(.notFound, "nodes \"\(node)\" not found", resource: node)
    }

    private static func view(_ pod: SimulatedPod, now: Double) -> KubernetesPod {
        let controllerKind =
            switch pod.owner {
            case .daemonSet: "DaemonSet"
            case .replicaSet: "ReplicaSet"
            case .mirror: "Node"
            }
        return KubernetesPod(
            namespace: pod.namespace, name: pod.name, node: pod.node, phase: pod.node != nil && now >= pod.startedAt ? "Running" : "Pending",
            controllerKind: controllerKind, isMirror: pod.owner == .mirror, isTerminating: pod.deletingSince != nil)
    }

    private static func healthyPods(_ objects: SimulatedKubernetesObjects, workload: SimulatedWorkload, now: Double) -> Int {
        objects.pods.values.filter {
            $0.owner == .replicaSet && $0.namespace == workload.namespace && $0.ownerName == workload.name && $0.node != nil
                && $0.deletingSince == nil && now >= $0.startedAt
        }.count
    }

    /// Runs the controllers up to `now`: pods whose grace period ended are gone, pods bound to
    /// deleted nodes are collected, DaemonSet and mirror pods exist on every node, and each
    /// workload has its replicas (terminating pods do not count, as for a ReplicaSet).
    func settlePods(_ objects: inout SimulatedKubernetesObjects, _ state: SimulatorState, cluster: String, now: Double) {
        let nodes = (state.clusters[cluster]?.kubernetesNodes ?? [:]).filter { !objects.deregistered.contains($0.value) }
        let machines = Self.machinesByID(state, cluster: cluster)
        let grace = seconds(timings.podTermination)
        let startup = seconds(timings.podStartup)
        for (key, pod) in objects.pods {
            if let since = pod.deletingSince, now >= since + pod.grace {
                objects.pods[key] = nil
            } else if let node = pod.node, nodes[node] == nil {
                objects.pods[key] = nil
            }
        }
        func add(_ namespace: String, _ name: String, node: String?, owner: SimulatedPod.Owner, ownerName: String) {
            let pod = SimulatedPod(
                namespace: namespace, name: name, node: node, owner: owner, ownerName: ownerName, startedAt: now + startup, deletingSince: nil,
                grace: grace)
            objects.pods[pod.key] = pod
        }
        func suffix() -> String {
            defer { objects.nextPodSerial += 1 }
            // Five base-36 characters, like the suffix a ReplicaSet or DaemonSet gives its pods.
            return String(Int(StableHash.unitInterval("pod-\(objects.nextPodSerial)", seed: state.seed) * 60_466_176) + 1_679_616, radix: 36).suffix(5).description
        }
        for (node, providerID) in nodes.sorted(by: { $0.key < $1.key }) {
            for daemonSet in Self.daemonSets
            where !objects.pods.values.contains(where: { $0.owner == .daemonSet && $0.ownerName == daemonSet && $0.node == node && $0.deletingSince == nil }) {
                add("kube-system", "\(daemonSet)-\(suffix())", node: node, owner: .daemonSet, ownerName: daemonSet)
            }
            if machines[providerID]?.config?.role == .controlPlane {
                for component in Self.staticPods where objects.pods["kube-system/\(component)-\(node)"] == nil {
                    add("kube-system", "\(component)-\(node)", node: node, owner: .mirror, ownerName: node)
                }
            }
        }
        // The scheduler: a schedulable, Ready node with the fewest pods; workers unless the
        // workload tolerates the control-plane taint. No such node leaves the pod Pending.
        func place(_ workload: SimulatedWorkload) -> String? {
            let candidates = nodes.filter { name, providerID in
                guard !objects.cordoned.contains(name), let machine = machines[providerID], isNodeReady(machine, state, now: now) else { return false }
                return workload.onControlPlanes || machine.config?.role != .controlPlane
            }.keys
            return candidates.min { lhs, rhs in
                let left = objects.pods.values.filter { $0.node == lhs }.count
                let right = objects.pods.values.filter { $0.node == rhs }.count
                return (left, lhs) < (right, rhs)
            }
        }
        for workload in objects.workloads.values.sorted(by: { $0.key < $1.key }) {
            for key in objects.pods.keys.sorted() where objects.pods[key]?.node == nil && objects.pods[key]?.ownerName == workload.name {
                let node = place(workload)
                objects.pods[key]?.node = node
                objects.pods[key]?.startedAt = now + startup
            }
            let active = objects.pods.values.filter {
                $0.owner == .replicaSet && $0.namespace == workload.namespace && $0.ownerName == workload.name && $0.deletingSince == nil
            }.count
            for _ in active..<max(active, workload.replicas) {
                add(workload.namespace, "\(workload.name)-\(suffix())", node: place(workload), owner: .replicaSet, ownerName: workload.name)
            }
        }
    }
}
