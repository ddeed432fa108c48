public import ClusterKit
import Foundation

/// Talos machine API, Kubernetes API and Flux operations on simulated nodes.
extension SimulatedWorld {
    /// The live machine's record, or a not-found error naming it.
    private func record(_ state: SimulatorState, _ machine: ObservedMachine) throws -> SimulatedMachine {
        if let address = machine.addresses.first, let routed = try floatingIPHolder(state, cluster: machine.identity.cluster, address: address, now: seconds(clock.now)) {
            return routed
        }
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

    func applyConfiguration(
        _ config: MachineConfigPayload, to machine: ObservedMachine, mode: TalosApplyMode, dryRun: Bool, insecure: Bool
    ) async throws -> TalosApplyResult {
        let summary = try MachineConfigSummary(parsing: config)
        let digest = Self.digest(config)
        return try await perform(.apply, provider: nil, node: machine.identity.node, latency: timings.talosLatency) { state, now in
            var record = try self.record(state, machine)
            let result: TalosApplyResult
            switch Self.talosStage(record, now: now) {
            case .unreachable:
                throw self.unreachable(machine)
            case .maintenance:
                guard insecure else { throw self.handshakeRefused(machine, maintenance: true) }
                // Maintenance mode turns REBOOT and AUTO into NO_REBOOT; STAGED only persists
                // (API-FACTS.md section 2).
                if mode == .staged { return TalosApplyResult(mode: .staged, details: "Staged configuration to be applied after a reboot") }
                result = TalosApplyResult(mode: .noReboot, details: "Applied configuration without a reboot")
                guard !dryRun else { return result }
                record.config = summary
                record.configDigest = digest
                record.configAppliedAt = now
                record.talosRunningAt = now + self.duration(self.timings.installAndReboot, seed: state.seed, node: machine.identity.node, process: "install")
            case .installing, .running:
                guard !insecure else { throw self.handshakeRefused(machine, maintenance: false) }
                guard record.config?.clusterID == summary.clusterID, record.config?.role == summary.role else {
                    throw ProvisionerError(.refused, "the new config belongs to another cluster or role; reset the node first", resource: machine.identity.node)
                }
                result = TalosApplyResult(mode: mode == .auto ? .noReboot : mode, details: mode == .staged ? "Staged configuration to be applied after a reboot" : "Applied configuration without a reboot")
                guard !dryRun, mode != .staged else { return result }
                record.configDigest = digest
            }
            self.store(record, in: &state)
            return result
        }
    }

    /// What a TLS handshake with the wrong trust gives: a maintenance node's per-boot CA is not the
    /// cluster's, and a configured node requires a client certificate.
    private func handshakeRefused(_ machine: ObservedMachine, maintenance: Bool) -> ProvisionerError {
        ProvisionerError(
            .refused, maintenance
                ? "the TLS handshake failed: the node is in maintenance mode; its certificate is not signed by the cluster's OS CA"
                : "the TLS handshake failed: the node is configured and requires a client certificate; the maintenance API is closed",
            resource: machine.identity.node,
            hint: maintenance ? "apply the first config with the insecure maintenance API" : "use the cluster's talosconfig credentials")
    }

    /// A running node's record, or the error its API gives.
    private func running(_ state: SimulatorState, _ machine: ObservedMachine, now: Double) throws -> SimulatedMachine {
        let record = try self.record(state, machine)
        guard Self.talosStage(record, now: now) == .running else { throw self.unreachable(machine) }
        return record
    }

    private func controlPlane(_ state: SimulatorState, _ machine: ObservedMachine, now: Double, _ api: String) throws -> SimulatedMachine {
        let record = try running(state, machine, now: now)
        guard record.config?.role == .controlPlane else {
            throw ProvisionerError(.refused, "\(api) is only available on control plane nodes", resource: machine.identity.node)
        }
        return record
    }

    /// Whether the node's `/var/lib/etcd` holds data: it was bootstrapped, or it has joined.
    private func hasEtcdData(_ state: SimulatorState, _ record: SimulatedMachine, now: Double) -> Bool {
        let cluster = state.clusters[record.identity.cluster]
        if cluster?.strayEtcd.contains(record.providerID) == true || cluster?.bootstrapMachine == record.providerID { return true }
        return etcdMembers(state, cluster: record.identity.cluster, now: now).contains { $0.providerID == record.providerID }
            || cluster?.removedMembers.contains(record.providerID) == true
    }

    func bootstrap(_ machine: ObservedMachine, recoverFromSnapshot: Bool) async throws -> TalosBootstrapOutcome {
        try await perform(.bootstrap, provider: nil, node: machine.identity.node, latency: timings.talosLatency) { state, now in
            let record = try self.controlPlane(state, machine, now: now, "bootstrap")
            let cluster = record.identity.cluster
            guard let clusterID = record.config?.clusterID else { throw self.unreachable(machine) }
            // Talos refuses only where etcd already holds data (AlreadyExists).
            if self.hasEtcdData(state, record, now: now) { return .alreadyBootstrapped }
            var entry = state.clusters[cluster, default: .init()]
            if recoverFromSnapshot {
                // A missing or corrupt snapshot only shows as the etcd service failing.
                guard entry.recoverySnapshots.removeValue(forKey: record.providerID) == true else {
                    state.clusters[cluster] = entry
                    return .bootstrapped
                }
                // Talos restores the snapshot into a new one-member cluster: its data comes back.
                if let data = entry.recoveryData.removeValue(forKey: record.providerID) {
                    entry.kubernetes = data.kubernetes
                    entry.kubernetesNodes = data.kubernetesNodes
                    entry.gitops = data.gitops
                }
            }
            entry.bootstrapCalls += 1
            if entry.bootstrappedAt != nil {
                // Not joined yet, so nothing stopped it: a second, separate etcd cluster.
                entry.strayEtcd.insert(record.providerID)
            } else {
                entry.bootstrapMachine = record.providerID
                entry.bootstrappedAt = now
                entry.clusterID = clusterID
            }
            state.clusters[cluster] = entry
            return .bootstrapped
        }
    }

    /// etcd's member ID for a machine: stable, like the ID etcd derives from the member's peer URLs.
    static func memberID(_ machine: SimulatedMachine) -> UInt64 {
        UInt64(StableHash.unitInterval("etcd-member/\(machine.providerID)") * Double(UInt64.max >> 1)) | 1
    }

    func etcdMembers(via machine: ObservedMachine) async throws -> [EtcdMember] {
        try await perform(.etcd, provider: nil, node: machine.identity.node, latency: timings.talosLatency) { state, now in
            let record = try self.controlPlane(state, machine, now: now, "etcd member list")
            if state.clusters[record.identity.cluster]?.strayEtcd.contains(record.providerID) == true {
                return [EtcdMember(id: Self.memberID(record), hostname: record.identity.node, peerURLs: ["https://\(record.address):2380"], clientURLs: ["https://\(record.address):2379"])]
            }
            let members = self.etcdMembership(state, cluster: record.identity.cluster, now: now)
            guard members.isEmpty || self.hasQuorum(state, cluster: record.identity.cluster, now: now) else {
                throw ProvisionerError(.unavailable, "etcdserver: no leader", resource: machine.identity.node, isTransient: true)
            }
            return members.map { entry in
                EtcdMember(
                    id: Self.memberID(entry.machine), hostname: entry.machine.identity.node, peerURLs: ["https://\(entry.machine.address):2380"],
                    clientURLs: ["https://\(entry.machine.address):2379"], isLearner: entry.isLearner)
            }
        }
    }

    /// etcd's `mayRemoveMember` (strict reconfig check), then the removal.
    private func removeMember(_ name: String, _ cluster: String, servedBy server: SimulatedMachine, state: inout SimulatorState, now: Double) throws {
        try removeMember(cluster, servedBy: server, state: &state, now: now, resource: name, notFound: "etcd has no member named \(name)") {
            $0.identity.node == name
        }
    }

    private func removeMember(
        _ cluster: String, servedBy server: SimulatedMachine, state: inout SimulatorState, now: Double, resource name: String, notFound: String,
        matching: (SimulatedMachine) -> Bool
    ) throws {
        let membership = etcdMembership(state, cluster: cluster, now: now)
        guard hasQuorum(state, cluster: cluster, now: now) else {
            throw ProvisionerError(.unavailable, "etcdserver: no leader", resource: name, isTransient: true)
        }
        guard let member = membership.first(where: { matching($0.machine) }) else {
            throw ProvisionerError(.notFound, notFound, resource: name)
        }
        let id = Self.memberID(member.machine)
        if !member.isLearner {
            let voters = membership.filter { !$0.isLearner }.map { $0.machine }
            let others = voters.filter { $0.providerID != member.machine.providerID }
            // Every listed voter has started (published its name), so "started" is "listed" here.
            guard others.count >= others.count / 2 + 1 else {
                throw ProvisionerError(.refused, "failed to remove member \(id): etcdserver: re-configuration failed due to not enough started members", resource: name,
                    hint: "removing this member would leave etcd without a quorum of started members; bring members back or add one first")
            }
            let isUp = { (machine: SimulatedMachine) in Self.isAlive(machine) && Self.talosStage(machine, now: now) == .running }
            if isUp(member.machine) || member.machine.providerID == server.providerID {
                let active = voters.filter { isUp($0) || $0.providerID == server.providerID }.count
                guard active - 1 >= 1 + (voters.count - 1) / 2 else {
                    throw ProvisionerError(.unavailable, "failed to remove member \(id): etcdserver: unhealthy cluster", resource: name, isTransient: true)
                }
            }
        }
        state.clusters[cluster]?.removedMembers.insert(member.machine.providerID)
        state.clusters[cluster]?.memberRemovedAt[member.machine.providerID] = now
    }

    func removeEtcdMember(named name: String, via machine: ObservedMachine) async throws {
        try await perform(.etcd, provider: nil, node: name, latency: timings.talosLatency) { state, now in
            let server = try self.controlPlane(state, machine, now: now, "etcd remove member")
            try self.removeMember(name, server.identity.cluster, servedBy: server, state: &state, now: now)
        }
    }

    /// By ID, as `EtcdRemoveMemberByID` is; etcd's answer for an unknown ID is "member not found".
    func removeEtcdMember(id: UInt64, via machine: ObservedMachine) async throws {
        // Logged (and open to injected faults) under the member's node, as the removal by name is.
        let member = Self.machines(snapshot(), cluster: machine.identity.cluster).first { Self.memberID($0) == id }?.identity.node
        try await perform(.etcd, provider: nil, node: member ?? machine.identity.node, latency: timings.talosLatency) { state, now in
            let server = try self.controlPlane(state, machine, now: now, "etcd remove member")
            try self.removeMember(
                server.identity.cluster, servedBy: server, state: &state, now: now, resource: String(id, radix: 16),
                notFound: "failed to remove member \(id): etcdserver: member not found"
            ) { Self.memberID($0) == id }
        }
    }

    func leaveEtcd(_ machine: ObservedMachine) async throws {
        try await perform(.etcd, provider: nil, node: machine.identity.node, latency: timings.talosLatency) { state, now in
            let record = try self.controlPlane(state, machine, now: now, "etcd leave cluster")
            try self.removeMember(record.identity.node, record.identity.cluster, servedBy: record, state: &state, now: now)
        }
    }

    func etcdSnapshot(via machine: ObservedMachine, to path: String) async throws -> EtcdSnapshotInfo {
        let snapshot = try await perform(.etcd, provider: nil, node: machine.identity.node, latency: timings.talosLatency) { state, now in
            let record = try self.controlPlane(state, machine, now: now, "etcd snapshot")
            let members = self.etcdMembers(state, cluster: record.identity.cluster, now: now)
            guard members.contains(where: { $0.providerID == record.providerID }) else {
                throw ProvisionerError(.unavailable, "etcd is not running on \(machine.identity.node)", resource: machine.identity.node, isTransient: true)
            }
            let entry = state.clusters[record.identity.cluster]
            let data = SimulatedEtcdData(
                cluster: record.identity.cluster, clusterID: entry?.clusterID, members: members.map(\.identity.node),
                kubernetesNodes: entry?.kubernetesNodes ?? [:], kubernetes: entry?.kubernetes, gitops: entry?.gitops)
            return EtcdSnapshotFile.make(payload: data.encoded())
        }
        let file = try EtcdSnapshotFile(path: path)
        do {
            try file.append(Data(snapshot))
        } catch {
            file.discard()
            throw ProvisionerError(.invalidInput, "cannot write the etcd snapshot to \(path)")
        }
        return try file.finish()
    }

    func etcdRecover(_ machine: ObservedMachine, from path: String) async throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ProvisionerError(.invalidInput, "cannot read the etcd snapshot \(path)", resource: machine.identity.node)
        }
        let valid = EtcdSnapshotFile.verify(Array(data))
        let contents = valid ? SimulatedEtcdData.decode(snapshot: Array(data)) : nil
        try await perform(.etcd, provider: nil, node: machine.identity.node, latency: timings.talosLatency) { state, now in
            let record = try self.controlPlane(state, machine, now: now, "etcd recover")
            state.clusters[record.identity.cluster, default: .init()].recoverySnapshots[record.providerID] = valid
            state.clusters[record.identity.cluster, default: .init()].recoveryData[record.providerID] = contents
        }
    }

    func kubeconfig(via machine: ObservedMachine, secrets: SecretsBundle?) async throws -> String {
        let (cluster, address) = try await perform(.status, provider: nil, node: machine.identity.node, latency: timings.talosLatency) { state, now in
            let record = try self.controlPlane(state, machine, now: now, "kubeconfig")
            return (record.identity.cluster, record.address)
        }
        guard let secrets else {
            throw ProvisionerError(.refused, "this simulated cluster was started without its secrets, so no kubeconfig can be signed", resource: machine.identity.node)
        }
        return try ClientConfigs.kubeconfig(cluster: cluster, server: "https://\(address):6443", secrets: secrets, now: Date())
    }

    func version(of machine: ObservedMachine, insecure: Bool) async throws -> TalosVersionInfo {
        try await perform(.status, provider: nil, node: machine.identity.node, latency: timings.talosLatency) { state, now in
            let record = try self.record(state, machine)
            let stage = Self.talosStage(record, now: now)
            switch stage {
            case .unreachable, .installing: throw self.unreachable(machine)
            case .maintenance: guard insecure else { throw self.handshakeRefused(machine, maintenance: true) }
            case .running: guard !insecure else { throw self.handshakeRefused(machine, maintenance: false) }
            }
            return TalosVersionInfo(tag: record.talosVersion ?? "", platform: "metal", platformMode: "metal", hasConfig: stage == .running)
        }
    }

    func services(of machine: ObservedMachine) async throws -> [TalosServiceStatus] {
        try await perform(.status, provider: nil, node: machine.identity.node, latency: timings.talosLatency) { state, now in
            let record = try self.running(state, machine, now: now)
            var services = [TalosServiceStatus(id: "apid", state: "Running", healthy: true), TalosServiceStatus(id: "machined", state: "Running", healthy: true)]
            if record.config?.role == .controlPlane {
                let member = self.etcdMembership(state, cluster: record.identity.cluster, now: now).first { $0.machine.providerID == record.providerID }
                services.append(member.map { TalosServiceStatus(id: "etcd", state: "Running", healthy: !$0.isLearner) }
                    ?? TalosServiceStatus(id: "etcd", state: "Preparing", healthy: nil, lastMessage: "Running pre state"))
            }
            services.append(TalosServiceStatus(id: "kubelet", state: "Running", healthy: true))
            return services
        }
    }

    func reboot(_ machine: ObservedMachine) async throws {
        try await perform(.status, provider: nil, node: machine.identity.node, latency: timings.talosLatency) { state, now in
            var record = try self.running(state, machine, now: now)
            record.talosRunningAt = now + self.duration(self.timings.installAndReboot, seed: state.seed, node: machine.identity.node, process: "reboot")
            self.store(record, in: &state)
        }
    }

    func reset(_ machine: ObservedMachine, options: TalosResetOptions) async throws {
        try await perform(.status, provider: nil, node: machine.identity.node, latency: timings.talosLatency) { state, now in
            var record = try self.running(state, machine, now: now)
            let cluster = record.identity.cluster
            if options.graceful, record.config?.role == .controlPlane,
                self.etcdMembers(state, cluster: cluster, now: now).contains(where: { $0.providerID == record.providerID })
            {
                // Leaves etcd first and aborts the reset if that fails (visible only in events).
                guard (try? self.removeMember(record.identity.node, cluster, servedBy: record, state: &state, now: now)) != nil else { return }
            }
            let wipeState = options.systemPartitions.isEmpty || options.systemPartitions.contains("STATE")
            if wipeState {
                record.config = nil
                record.configDigest = nil
                record.talosRunningAt = nil
                record.runningAt = now + self.seconds(self.timings.simulator.boot)
            } else {
                record.talosRunningAt = now + self.duration(self.timings.installAndReboot, seed: state.seed, node: machine.identity.node, process: "reset")
            }
            self.store(record, in: &state)
        }
    }

    // MARK: Flux

    func gitOpsStatus(cluster: String) async throws -> GitOpsStatus? {
        try await perform(.gitops, provider: nil, node: nil, latency: timings.talosLatency) { state, now in
            guard let record = state.clusters[cluster]?.gitops else { return nil }
            let ready = self.isAPIUp(state, cluster: cluster, now: now) && now >= record.installedAt + self.seconds(self.timings.fluxInstall)
            let revision = SimulatedGitOpsInstaller.revision(url: record.url, branch: record.branch, path: record.path)
            return GitOpsStatus(url: record.url, branch: record.branch, path: record.path, ready: ready, revision: ready ? revision : nil)
        }
    }

    /// Installs Flux; like the real installer, refuses to re-point an installation unless forced,
    /// and changes nothing when Flux already reconciles the spec (it then only waits, if need
    /// be, until that installation is Ready). Returns whether it installed or re-pointed Flux.
    @discardableResult
    func installGitOps(cluster: String, _ spec: GitOpsSpec, force: Bool = false) async throws -> Bool {
        let (remaining, installed) = try await perform(.gitops, provider: nil, node: nil, latency: timings.talosLatency) { state, now -> (Double, Bool) in
            try self.requireAPI(state, cluster: cluster, now: now)
            if let record = state.clusters[cluster]?.gitops {
                let matches = GitOpsStatus(url: record.url, branch: record.branch, path: record.path, ready: false).matches(spec)
                if matches { return (record.installedAt + self.seconds(self.timings.fluxInstall) - now, false) }
                if !force {
                    throw ClusterError(
                        .refused, "Flux in this cluster reconciles \(record.url) (branch \(record.branch), path \(record.path)); the spec says \(spec.url) (branch \(spec.branch), path \(spec.path)). Nothing was changed",
                        hint: "to move this cluster to the spec's repository path, run `clusterctl up \(cluster) --force`")
                }
            }
            state.clusters[cluster, default: .init()].gitops = .init(url: spec.url, branch: spec.branch, path: spec.path, installedAt: now)
            return (self.seconds(self.timings.fluxInstall), true)
        }
        // `flux bootstrap` returns once the controllers are up and the first reconcile is done.
        if remaining > 0 { try await clock.sleep(for: .seconds(remaining)) }
        return installed
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
