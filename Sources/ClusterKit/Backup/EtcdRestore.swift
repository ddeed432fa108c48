/// `clusterctl etcd restore`: a cluster whose control plane is gone, rebuilt from a snapshot.
///
/// Talos' "Disaster Recovery" guide (FAILOVER-FACTS.md section 1.4) wants every control plane
/// rebuilt with the same secrets and config before the recovering bootstrap. So missing
/// control-plane machines are created first (the executor, limited to the control-plane
/// creations of the plan and stopped after the machines stage, so it never bootstraps a fresh
/// etcd), configured over the maintenance API, and then ``EtcdRecovery`` runs. The snapshot and
/// the "etcd still works" refusal are checked before any machine is created.
public struct EtcdRestore: Sendable {
    public let spec: ClusterSpec
    public let backend: ClusterBackend
    public var pollInterval: Duration
    public var events: ExecutionEventSink

    public init(spec: ClusterSpec, backend: ClusterBackend, pollInterval: Duration = .seconds(5), events: @escaping ExecutionEventSink = { _ in }) {
        self.spec = spec
        self.backend = backend
        self.pollInterval = pollInterval
        self.events = events
    }

    /// Restores (or, with `dryRun`, returns the steps without changing anything).
    public func run(from path: String, dryRun: Bool) async throws -> [EtcdRecovery.Step] {
        let recovery = EtcdRecovery(talos: backend.talos, time: backend.time, pollInterval: pollInterval)
        _ = try EtcdRecovery.checkSnapshot(path)
        var observed = try await ObservedCluster.observe(spec: spec, backend: backend)
        try await recovery.refuseIfEtcdWorks(runningControlPlanes(observed))
        let plan = Planner.plan(spec: spec, observed: observed)
        let missing: [MachineChange] = plan.changes.filter {
            if case .create(let node) = $0 { node.identity.role == .controlPlane } else { false }
        }
        let creations = missing.compactMap { change -> EtcdRecovery.Step? in
            guard case .create(let node) = change else { return nil }
            return EtcdRecovery.Step(node: node.identity.node, action: "create the machine on \(node.provider) and apply its config")
        }
        if dryRun {
            guard creations.isEmpty else {
                // The new machines cannot be checked before they exist: list them, then the recovery onto all.
                let names = (runningControlPlanes(observed).map(\.identity.node) + creations.compactMap(\.node)).sorted()
                return creations + [EtcdRecovery.Step(node: names.first, action: "upload the snapshot and bootstrap etcd from it (EtcdRecover, Bootstrap recover_etcd=true)")]
                    + names.dropFirst().map { EtcdRecovery.Step(node: $0, action: "wait until it joins etcd as a voting member") }
            }
            return try await recovery.plan(controlPlanes: runningControlPlanes(observed), from: path)
        }
        if !missing.isEmpty {
            let nodes = missing.compactMap { change -> NodePlan? in if case .create(let node) = change { node } else { nil } }
            let limited = Plan(cluster: spec.name, desired: nodes, changes: missing, bootstrapNode: nil, installsGitOps: false, notes: [])
            let executor = ClusterExecutor(spec: spec, backend: backend, options: .init(until: .machines, pollInterval: pollInterval), events: events)
            let report = try await executor.apply(limited, observed: observed)
            guard report.succeeded else {
                let reasons = (report.failures.map { "\($0.key): \($0.value)" } + report.nodes.filter { $0.state == .failed }.map { "\($0.node) failed" }).sorted()
                throw ClusterError(.partialFailure, "creating the missing control planes failed (\(reasons.joined(separator: "; "))); etcd was not touched", hint: "run the restore again: created machines are kept and reused")
            }
            observed = try await ObservedCluster.observe(spec: spec, backend: backend)
            let running = Set(runningControlPlanes(observed).map(\.identity.node))
            let absent = nodes.map(\.identity.node).filter { !running.contains($0) }
            guard absent.isEmpty else {
                throw ClusterError(.partialFailure, "the control planes \(absent.joined(separator: ", ")) were not running after they were created; etcd was not touched", hint: "run the restore again")
            }
        }
        let controlPlanes = runningControlPlanes(observed)
        for machine in controlPlanes { try await configure(machine, floatingIP: observed.configFloatingIP) }
        let steps = creations + (try await recovery.recover(controlPlanes: controlPlanes, from: path))
        try await waitUntilReady(controlPlanes.map(\.identity.node))
        return steps + [EtcdRecovery.Step(node: nil, action: "Kubernetes API up; \(controlPlanes.map(\.identity.node).sorted().joined(separator: ", ")) Ready")]
    }

    /// Waits for the API server and the named nodes to be Ready. The names are explicit: the
    /// restored etcd still lists Node objects of machines that are gone (FAILOVER-FACTS.md 1.6).
    private func waitUntilReady(_ names: [String]) async throws {
        let started = backend.time.now
        var last = "the Kubernetes API does not answer yet"
        while backend.time.now - started < .seconds(1800) {
            if let nodes = try? await backend.kubernetes.nodes() {
                let ready = Set(nodes.filter(\.ready).map(\.name))
                let waiting = names.filter { !ready.contains($0) }.sorted()
                if waiting.isEmpty { return }
                last = "not Ready yet: " + waiting.joined(separator: ", ")
            }
            try await backend.time.sleep(for: pollInterval)
        }
        throw ClusterError(.timeout, "etcd was restored and every control plane joined, but Kubernetes did not turn Ready within 30 minutes (\(last))", hint: "check `clusterctl status \(spec.name)`; controllers may need a restart after a restore (Talos does not bump etcd's revision)")
    }

    private func runningControlPlanes(_ observed: ObservedCluster) -> [ObservedMachine] {
        observed.machines.filter { $0.identity.role == .controlPlane && $0.phase == .running }
    }

    /// A machine in maintenance mode gets its config (the same secrets and config as before, as
    /// the guide asks); then it is waited for until Talos runs.
    private func configure(_ machine: ObservedMachine, floatingIP: String?) async throws {
        var status = try await backend.talos.status(of: machine)
        if status.stage == .maintenance {
            let config = try backend.configs.render(node: machine.identity, addresses: machine.addresses, floatingIP: floatingIP)
            try await backend.talos.applyConfiguration(config, to: machine, insecure: true)
        }
        let started = backend.time.now
        while status.stage != .running {
            guard backend.time.now - started < .seconds(1800) else {
                throw ClusterError(.timeout, "\(machine.identity.node) did not reach Talos running within 30 minutes of its config; etcd was not touched", hint: "check the node's console, then run the restore again")
            }
            try await backend.time.sleep(for: pollInterval)
            status = (try? await backend.talos.status(of: machine)) ?? status
        }
    }
}
