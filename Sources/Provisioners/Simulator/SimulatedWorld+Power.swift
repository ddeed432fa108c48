public import ClusterKit

/// Power in the simulated world, and what the rest of the cluster sees of it.
///
/// A machine whose power is cut stops at once: its Talos API stops answering, its etcd member
/// stops voting, its kubelet stops posting. The Kubernetes API does not notice at once: the node
/// controller marks a Node `Unknown`/NotReady only when its kubelet has not renewed its Lease for
/// the node-monitor grace period, checking every node-monitor period (``NodeMonitor``). Powered on
/// again, the machine boots from its disk with the config it had, taking its provider's boot time
/// (``SimulationTimings/Provider/boot``) before Talos answers; its etcd membership and Node object
/// are still there, so it rejoins as itself.
extension SimulatedWorld {
    /// The Kubernetes node controller's timing (kubernetes/website `concepts/architecture/nodes.md`,
    /// "Node heartbeats" and "Node controller"; FAILOVER-FACTS.md section 3).
    public enum NodeMonitor {
        /// The kubelet renews its Lease every 10 s.
        public static let leaseRenewInterval: Double = 10
        /// `--node-monitor-period`: the node controller checks every 5 s.
        public static let period: Double = 5
        /// `--node-monitor-grace-period`: 50 s since Kubernetes v1.32, 40 s before
        /// (kubernetes/kubernetes PR #126287).
        public static let gracePeriod: Double = 50
    }

    /// When the node controller marks the Node of a machine that went dark (powered off, or lost) at
    /// `poweredOffAt` NotReady:
    /// its last Lease renewal fell 0–10 s before the power cut, and the first check more than the
    /// grace period after that renewal comes up to one period later, so 40–55 s after the cut.
    /// Where in those windows is fixed by the node and the instant, so runs repeat exactly.
    static func notReadyAt(node: String, wentDarkAt poweredOffAt: Double) -> Double {
        let key = "\(node)@\(Int((poweredOffAt * 1000).rounded()))"
        let lastRenewal = poweredOffAt - NodeMonitor.leaseRenewInterval * StableHash.unitInterval(key + "/lease")
        return lastRenewal + NodeMonitor.gracePeriod + NodeMonitor.period * StableHash.unitInterval(key + "/monitor")
    }

    /// Whether the Kubernetes API shows the machine's Node Ready at `now`: what its kubelet last
    /// posted, until the node controller gives up on a machine that went dark. A machine back
    /// from a cut before the grace period ran out (a reset, a short outage) never shows NotReady.
    static func nodeControllerSeesReady(_ machine: SimulatedMachine, now: Double) -> Bool {
        if let cut = machine.powerCut, isDark(machine, now: now) {
            return cut.wasReady && now < notReadyAt(node: machine.identity.node, wentDarkAt: cut.at)
        }
        return isAlive(machine) && talosStage(machine, now: now) == .running
    }

    /// Off, or booting after a power cut: its kubelet posts nothing.
    static func isDark(_ machine: SimulatedMachine, now: Double) -> Bool {
        machine.poweredOffAt != nil || (machine.powerCut != nil && now < machine.runningAt)
    }

    /// Records a cut at `now`, unless the machine is still dark from an earlier one: the
    /// kubelet's last post came before that first cut.
    static func cutPower(_ record: inout SimulatedMachine, now: Double) {
        guard !isDark(record, now: now) else { return }
        record.powerCut = PowerCut(at: now, wasReady: nodeControllerSeesReady(record, now: now))
    }

    static func powerState(_ machine: SimulatedMachine) -> PowerState {
        if machine.failed { return .unknown }
        return machine.poweredOffAt == nil ? .on : .off
    }

    func powerState(provider: String, of machine: ObservedMachine) async throws -> PowerState {
        try await perform(.power, provider: provider, node: machine.identity.node, latency: providerTimings(provider).apiLatency) { state, _ in
            Self.powerState(try Self.powerRecord(state, provider: provider, machine))
        }
    }

    /// Carries out `action` at once, as a provider's finished action or task would have.
    func power(_ action: PowerAction, provider: String, machine: ObservedMachine) async throws {
        let timing = providerTimings(provider)
        try await perform(.power, provider: provider, node: machine.identity.node, latency: timing.apiLatency) { state, now in
            var record = try Self.powerRecord(state, provider: provider, machine)
            guard !record.failed else {
                throw ProvisionerError(
                    .unavailable, "the machine's host does not answer; its power cannot be switched", provider: provider,
                    resource: machine.identity.node, hint: "replace the node")
            }
            switch action {
            case .off:
                guard record.poweredOffAt == nil else { return }
                Self.cutPower(&record, now: now)
                record.poweredOffAt = now
            case .on:
                guard record.poweredOffAt != nil else { return }
                record.poweredOffAt = nil
                record.runningAt = now + self.duration(timing.boot, seed: state.seed, node: machine.identity.node, process: "power-on@\(now)")
            case .reset:
                guard record.poweredOffAt == nil else {
                    throw ProvisionerError(
                        .refused, "the machine is powered off, so it cannot be reset", provider: provider, resource: machine.identity.node,
                        hint: "power it on instead")
                }
                Self.cutPower(&record, now: now)
                record.runningAt = now + self.duration(timing.boot, seed: state.seed, node: machine.identity.node, process: "reset@\(now)")
            }
            guard let index = state.providers[provider]?.machines.firstIndex(where: { $0.providerID == record.providerID && !$0.deleted }) else { return }
            state.providers[provider]?.machines[index] = record
        }
    }

    private static func powerRecord(_ state: SimulatorState, provider: String, _ machine: ObservedMachine) throws -> SimulatedMachine {
        guard let record = state.providers[provider]?.machines.first(where: { $0.providerID == machine.providerID && !$0.deleted }) else {
            throw ProvisionerError(.notFound, "machine \(machine.providerID) does not exist", provider: provider, resource: machine.identity.node)
        }
        return record
    }
}

extension SimulatedWorld {
    /// Whether the node's live machine has power, read straight from the world's state (test and
    /// drill hook; nil when there is no such machine).
    public func hasPower(node: String) -> Bool? {
        let state = snapshot()
        for name in state.providers.keys.sorted() {
            if let machine = state.providers[name]?.machines.first(where: { $0.identity.node == node && !$0.deleted }) {
                return machine.poweredOffAt == nil && !machine.failed
            }
        }
        return nil
    }
}
