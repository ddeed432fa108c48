public import ClusterKit

/// Talos machine API, Kubernetes API and Flux operations on simulated nodes.
extension SimulatedWorld {
    /// The live machine's record, or a not-found error naming it.
    private func record(_ state: SimulatorState, _ machine: ObservedMachine) throws -> SimulatedMachine {
        guard let record = state.providers[machine.provider]?.machines.first(where: { $0.providerID == machine.providerID && !$0.deleted }) else {
            throw ProvisionerError(.notFound, "machine \(machine.providerID) does not exist", provider: machine.provider, resource: machine.identity.node)
        }
        return record
    }

    private func store(_ record: SimulatedMachine, in state: inout SimulatorState) {
        guard let index = state.providers[record.provider]?.machines.firstIndex(where: { $0.providerID == record.providerID }) else { return }
        state.providers[record.provider]?.machines[index] = record
    }

    private func unreachable(_ machine: ObservedMachine) -> ProvisionerError {
        ProvisionerError(.transport, "Talos API at \(machine.addresses.first ?? "?"):50000 is not reachable", resource: machine.identity.node, isTransient: true)
    }

    func talosStatus(_ machine: ObservedMachine) async throws -> TalosNodeStatus {
        try await perform(.status, provider: nil, node: machine.identity.node, latency: timings.talosLatency) { state, now in
            let record = try self.record(state, machine)
            return TalosNodeStatus(stage: Self.talosStage(record, now: now), role: record.config?.role, talosVersion: record.talosVersion)
        }
    }

    func applyConfiguration(_ config: MachineConfigPayload, to machine: ObservedMachine, insecure: Bool) async throws {
        let summary = try MachineConfigSummary(parsing: config)
        let digest = Self.digest(config)
        try await perform(.apply, provider: nil, node: machine.identity.node, latency: timings.talosLatency) { state, now in
            var record = try self.record(state, machine)
            switch Self.talosStage(record, now: now) {
            case .unreachable:
                throw self.unreachable(machine)
            case .maintenance:
                guard insecure else {
                    throw ProvisionerError(.refused, "node is in maintenance mode and has no client certificates yet; apply with the insecure maintenance API", resource: machine.identity.node)
                }
                record.config = summary
                record.configDigest = digest
                record.configAppliedAt = now
                record.talosRunningAt = now + self.duration(self.timings.installAndReboot, seed: state.seed, node: machine.identity.node, process: "install")
            case .installing, .running:
                guard !insecure else {
                    throw ProvisionerError(.refused, "node is already configured; the maintenance API is closed", resource: machine.identity.node, hint: "apply with the cluster's talosconfig credentials")
                }
                guard record.config?.clusterID == summary.clusterID, record.config?.role == summary.role else {
                    throw ProvisionerError(.refused, "the new config belongs to another cluster or role; reset the node first", resource: machine.identity.node)
                }
                record.configDigest = digest
            }
            self.store(record, in: &state)
        }
    }

    func bootstrap(_ machine: ObservedMachine) async throws {
        try await perform(.bootstrap, provider: nil, node: machine.identity.node, latency: timings.talosLatency) { state, now in
            let record = try self.record(state, machine)
            let cluster = record.identity.cluster
            guard Self.talosStage(record, now: now) == .running else { throw self.unreachable(machine) }
            guard record.config?.role == .controlPlane, let clusterID = record.config?.clusterID else {
                throw ProvisionerError(.refused, "bootstrap is only possible on a configured control-plane node", resource: machine.identity.node)
            }
            if state.clusters[cluster]?.bootstrappedAt != nil {
                // What Talos answers when etcd already has data: bootstrapping again would split the cluster.
                throw ProvisionerError(.conflict, "etcd is already bootstrapped (AlreadyExists)", resource: machine.identity.node)
            }
            var record2 = state.clusters[cluster, default: .init()]
            record2.bootstrapMachine = record.providerID
            record2.bootstrappedAt = now
            record2.clusterID = clusterID
            record2.bootstrapCalls += 1
            state.clusters[cluster] = record2
        }
    }

    func etcdMembers(via machine: ObservedMachine) async throws -> [EtcdMember] {
        try await perform(.etcd, provider: nil, node: machine.identity.node, latency: timings.talosLatency) { state, now in
            let record = try self.record(state, machine)
            guard Self.talosStage(record, now: now) == .running else { throw self.unreachable(machine) }
            let members = self.etcdMembers(state, cluster: record.identity.cluster, now: now)
            guard members.isEmpty || self.hasQuorum(state, cluster: record.identity.cluster, now: now) else {
                throw ProvisionerError(.unavailable, "etcd has lost quorum", resource: machine.identity.node, isTransient: true)
            }
            return members.map { EtcdMember(name: $0.identity.node) }
        }
    }

    func removeEtcdMember(named name: String, via machine: ObservedMachine) async throws {
        try await perform(.etcd, provider: nil, node: name, latency: timings.talosLatency) { state, now in
            let cluster = try self.record(state, machine).identity.cluster
            guard self.hasQuorum(state, cluster: cluster, now: now) else {
                throw ProvisionerError(.unavailable, "etcd has lost quorum; members cannot be removed", resource: name, isTransient: true)
            }
            for member in self.etcdMembers(state, cluster: cluster, now: now) where member.identity.node == name {
                state.clusters[cluster]?.removedMembers.insert(member.providerID)
            }
        }
    }

    // MARK: Flux

    func gitOpsStatus(cluster: String) async throws -> GitOpsStatus? {
        try await perform(.gitops, provider: nil, node: nil, latency: timings.talosLatency) { state, now in
            guard let record = state.clusters[cluster]?.gitops else { return nil }
            let ready = self.isAPIUp(state, cluster: cluster, now: now) && now >= record.installedAt + self.seconds(self.timings.fluxInstall)
            return GitOpsStatus(url: record.url, branch: record.branch, path: record.path, ready: ready)
        }
    }

    func installGitOps(cluster: String, _ spec: GitOpsSpec) async throws {
        try await perform(.gitops, provider: nil, node: nil, latency: timings.talosLatency) { state, now in
            try self.requireAPI(state, cluster: cluster, now: now)
            state.clusters[cluster, default: .init()].gitops = .init(url: spec.url, branch: spec.branch, path: spec.path, installedAt: now)
        }
        // `flux bootstrap` returns once the controllers are up and the first reconcile is done.
        try await clock.sleep(for: timings.fluxInstall)
    }

    // MARK: Test and report hooks

    /// Machines alive under one node name, across providers; more than one is a duplicate.
    public func liveMachineCount(cluster: String, node: String) -> Int {
        Self.machines(snapshot(), cluster: cluster).filter { $0.identity.node == node && !$0.deleted }.count
    }

    /// How many `Bootstrap` calls succeeded for the cluster: exactly one in a healthy history.
    public func bootstrapCount(cluster: String) -> Int {
        snapshot().clusters[cluster]?.bootstrapCalls ?? 0
    }

    /// Every machine ever created, including deleted ones, as (node, deleted) pairs.
    public func machineHistory(cluster: String) -> [(node: String, deleted: Bool)] {
        Self.machines(snapshot(), cluster: cluster).map { ($0.identity.node, $0.deleted) }
    }
}
