public import ClusterKit

/// Losing nodes, as a dead disk, a lost host or a cut power line would: for failover playbooks,
/// drills and their tests.
///
/// A lost machine's provider reports it failed; its Talos API stops answering at once; its etcd
/// member stays listed (a dead voter that counts against quorum) until someone removes it; its
/// Kubernetes node stays Ready until the node controller's grace period passes
/// (``SimulatedWorld/NodeMonitor``), then NotReady, and stays listed until deleted.
extension SimulatedWorld {
    /// How a node is lost.
    public enum Loss: Sendable {
        /// The machine dies in place: its provider reports it failed (a dead disk, a host crash).
        case failed
        /// The machine is gone from its provider altogether (deleted in the console, a host
        /// reinstalled): the provider no longer lists it.
        case vanished
    }

    /// Loses the node now.
    public func lose(_ node: String, _ loss: Loss = .failed) {
        switch loss {
        case .failed:
            failMachine(node: node)
        case .vanished:
            change { state, now in
                for (name, provider) in state.providers {
                    for index in provider.machines.indices where provider.machines[index].identity.node == node && !provider.machines[index].deleted {
                        state.providers[name]?.machines[index].deleted = true
                        state.providers[name]?.machines[index].diedAt = now
                    }
                }
            }
        }
    }

    /// Runs `body` and loses `node` once `delay` has passed on the virtual clock (if `body` is
    /// still running then): "lose home-cp-1 at T" in the middle of a playbook or a drill.
    public func losing<Result: Sendable>(_ node: String, after delay: Duration, during body: @escaping @Sendable () async throws -> Result) async throws -> Result {
        try await withThrowingTaskGroup(of: Result?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await self.clock.sleep(for: delay)
                self.lose(node)
                return nil
            }
            defer { group.cancelAll() }
            while let next = try await group.next() {
                if let value = next { return value }
            }
            throw CancellationError()
        }
    }

    /// When a lost machine's Kubernetes node turns NotReady: nil while it is alive, or when its
    /// kubelet never was Ready. The node controller treats a lost machine as a cut of its power
    /// (``SimulatedWorld/notReadyAt(node:wentDarkAt:)``).
    func notReadyAt(_ machine: SimulatedMachine, _ state: SimulatorState) -> Double? {
        guard let diedAt = machine.diedAt, let readyAt = kubeletReadyAt(state, machine: machine), readyAt <= diedAt else { return nil }
        return Self.notReadyAt(node: machine.identity.node, wentDarkAt: diedAt)
    }

    /// The machine a floating IP's address reaches now, when `address` is one of the cluster's
    /// floating IPs: its holder once the routing delay after the assignment has passed.
    /// Throws the unreachable error while it points nowhere, at a dead machine, or is still routing.
    func floatingIPHolder(_ state: SimulatorState, cluster: String, address: String, now: Double) throws -> SimulatedMachine? {
        guard let record = state.clusters[cluster], let name = record.floatingIPAddresses.first(where: { $0.value == address })?.key else { return nil }
        let unreachable = ProvisionerError(.transport, "\(address):50000 is not reachable", resource: name, isTransient: true)
        guard let target = record.floatingIPs[name], let assignedAt = record.floatingIPAssignedAt[name] ?? Optional(0),
            now >= assignedAt + seconds(timings.floatingIPRouting)
        else { throw unreachable }
        guard let machine = Self.machines(state, cluster: cluster).first(where: { $0.providerID == target }), Self.isAlive(machine) else { throw unreachable }
        return machine
    }
}

extension SimulatedWorld {
    /// The fastest a lost node's replacement could be back in this world: one create call, its
    /// boot, install and reboot, then its kubelet Ready and, for a control plane, its etcd
    /// join through promotion. No detection, polling or retries: the floor a failover's RTO is
    /// compared against.
    public func replacementFloor(_ node: NodePlan) -> Duration {
        let state = snapshot()
        let seed = state.seed
        let timing = providerTimings(node.provider)
        let name = node.identity.node
        var chain = seconds(timing.apiLatency) + duration(timing.boot, seed: seed, node: name, process: "boot")
        if !timing.acceptsUserData { chain += seconds(timings.talosLatency) }
        chain += duration(timings.installAndReboot, seed: seed, node: name, process: "install")
        let kubelet = duration(timings.kubeletReady, seed: seed, node: name, process: "kubelet")
        // A replacement control plane is the only learner and makes the cluster whole again.
        let controlPlanes = Self.machines(state, cluster: node.identity.cluster)
            .filter { !$0.deleted && $0.config?.role == .controlPlane }.map(\.identity.node)
        let voters = Double(Set(controlPlanes + [name]).count)
        let join = node.identity.role == .controlPlane
            ? duration(timings.etcdLearnerAdd, seed: seed, node: name, process: "etcd-add")
                + duration(timings.etcdPromotionPerVoter, seed: seed, node: name, process: "etcd-join") * voters
            : 0
        return .milliseconds(Int64(((chain + max(kubelet, join)) * 1000).rounded()))
    }
}
