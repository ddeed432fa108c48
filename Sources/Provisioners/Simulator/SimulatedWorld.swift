public import ClusterKit
import Crypto
import Synchronization

/// The simulated world: cloud and hypervisor providers, Talos nodes, etcd, Kubernetes and Flux,
/// with their rules, on a virtual clock.
///
/// The rules follow the real systems: a machine boots for a while before it answers; a Talos node
/// without config waits in maintenance mode and takes its config over the insecure API only there;
/// installing and rebooting takes time; etcd is bootstrapped once, further control planes join it
/// as learners and are promoted; a second bootstrap is refused where etcd holds data, and splits
/// etcd on a control plane that has not joined yet, as Talos does; the Kubernetes API answers only
/// while etcd's voting members have quorum; a
/// kubelet turns Ready only once the API answers. Processes last their typical time, varied by a
/// jitter that depends only on the seed and the node, so a run is the same every time.
///
/// Faults (``SimulatedFault``) fire on matching operations. A crash fault applies the operation,
/// saves the state, then makes every later call fail with ``SimulatedCrash``: the process is dead.
public final class SimulatedWorld: Sendable {
    public let clock: VirtualClock
    public let timings: SimulationTimings
    private let state: Mutex<SimulatorState>
    private let crashedBy = Mutex<SimulatedFault?>(nil)
    private let log = Mutex<[SimulatedOperation]>([])
    private let persist: @Sendable (SimulatorState) -> Void

    /// - Parameters:
    ///   - persist: called with the new state after every change, and at a crash; the CLI writes it to disk.
    public init(
        state: SimulatorState, timings: SimulationTimings = SimulationTimings(),
        persist: @escaping @Sendable (SimulatorState) -> Void = { _ in }
    ) {
        self.clock = VirtualClock(now: .seconds(state.now))
        self.timings = timings
        self.state = Mutex(state)
        self.persist = persist
    }

    /// The state now, with the clock's time.
    public func snapshot() -> SimulatorState {
        let now = seconds(clock.now)
        return state.withLock { state in
            state.now = now
            return state
        }
    }

    /// Every operation attempted so far, in order, failed ones included; for tests and reports.
    public var operationLog: [SimulatedOperation] { log.withLock { $0 } }

    public var isCrashed: Bool { crashedBy.withLock { $0 != nil } }

    /// The crash fault that killed the simulated process, if one fired.
    public var crashFault: SimulatedFault? { crashedBy.withLock { $0 } }

    public func inject(_ fault: SimulatedFault) {
        state.withLock { $0.faults.append(fault) }
    }

    /// Takes the faults still waiting that have the kind, operation and target of one of
    /// `faults` out of the world and returns them: what a run's `--inject` left unfired, so a
    /// later command never trips over a fault meant for this one.
    public func withdrawFaults(like faults: [SimulatedFault]) -> [SimulatedFault] {
        let withdrawn: [SimulatedFault] = state.withLock { state in
            let matches = { (pending: SimulatedFault) in
                faults.contains { $0.kind == pending.kind && $0.operation == pending.operation && $0.target == pending.target }
            }
            let found = state.faults.filter(matches)
            state.faults.removeAll(where: matches)
            return found
        }
        if !withdrawn.isEmpty { persist(snapshot()) }
        return withdrawn
    }

    /// Declares a provider of the given type (`hetzner`, `libvirt`, `proxmox`, `simulator`); idempotent.
    public func registerProvider(named name: String, type: String) {
        let changed: Bool = state.withLock { state in
            if state.providers[name] != nil { return false }
            state.providers[name] = .init(type: type, index: state.providers.count)
            return true
        }
        if changed { persist(snapshot()) }
    }

    func providerTimings(_ provider: String) -> SimulationTimings.Provider {
        timings.provider(type: state.withLock { $0.providers[provider]?.type ?? "simulator" })
    }

    // MARK: - Operations

    /// Runs one API operation: consults the faults, spends the latency, applies the change.
    func perform<Value: Sendable>(
        _ operation: SimulatedFault.Operation, provider: String?, node: String?, latency: Duration,
        _ body: @Sendable (inout SimulatorState, Double) throws -> Value
    ) async throws -> Value {
        try checkAlive()
        log.withLock { $0.append(SimulatedOperation(operation: operation, provider: provider, node: node)) }
        let fault = takeFault(operation, provider: provider, node: node)
        let resource = node ?? provider ?? operation.rawValue
        switch fault?.kind {
        case .rateLimit:
            try await clock.sleep(for: latency)
            throw ProvisionerError(.rateLimited, "rate limit exceeded", provider: provider, resource: resource, isTransient: true, retryAfter: .seconds(2))
        case .serverError:
            try await clock.sleep(for: latency)
            throw ProvisionerError(.unavailable, "503 service unavailable", provider: provider, resource: resource, isTransient: true)
        case .timeout:
            try await clock.sleep(for: .seconds(30))
            throw ProvisionerError(.timeout, "no answer within 30s", provider: provider, resource: resource, isTransient: true)
        case .permanent:
            try await clock.sleep(for: latency)
            throw ProvisionerError(.limitExceeded, "\(operation.rawValue) refused: quota exceeded", provider: provider, resource: resource, hint: "raise the quota or lower the pool's count")
        case .slow:
            try await clock.sleep(for: .seconds(300))
        case .crash, .machineFailure, nil:
            break
        }
        try await clock.sleep(for: latency)
        try checkAlive()
        let now = seconds(clock.now)
        let (outcome, changed) = state.withLock { state in
            let before = state
            let outcome = Result { () throws(any Error) -> Value in try body(&state, now) }
            return (outcome, state != before)
        }
        if let fault, fault.kind == .machineFailure, let node {
            failMachine(node: node)
        }
        // Reads change nothing: saving after them only rewrote the file (hundreds of times a
        // second while a run polled a node that would never come up).
        if changed || fault != nil { persist(snapshot()) }
        if let fault, fault.kind == .crash {
            crashedBy.withLock { $0 = fault }
            throw SimulatedCrash(fault: fault)
        }
        return try outcome.get()
    }

    private func checkAlive() throws {
        if let fault = crashedBy.withLock({ $0 }) { throw SimulatedCrash(fault: fault) }
    }

    private func takeFault(_ operation: SimulatedFault.Operation, provider: String?, node: String?) -> SimulatedFault? {
        state.withLock { state in
            let attempt = SimulatedOperation(operation: operation, provider: provider, node: node)
            guard let index = state.faults.firstIndex(where: { attempt.matches($0.operation, target: $0.target) }) else { return nil }
            if state.faults[index].skip > 0 {
                state.faults[index].skip -= 1
                return nil
            }
            var fault = state.faults[index]
            if fault.count <= 1 {
                state.faults.remove(at: index)
            } else {
                state.faults[index].count -= 1
            }
            fault.count = 1
            return fault
        }
    }

    /// Changes the state outside any API operation (test and drill hooks), then saves it.
    func change(_ body: (inout SimulatorState, Double) -> Void) {
        let now = seconds(clock.now)
        state.withLock { body(&$0, now) }
        persist(snapshot())
    }

    /// Powers a machine off for good, as a dead disk or a lost host would. For playbooks and drills.
    public func failMachine(node: String) {
        state.withLock { state in
            for (name, provider) in state.providers {
                for index in provider.machines.indices where provider.machines[index].identity.node == node && !provider.machines[index].deleted {
                    state.providers[name]?.machines[index].failed = true
                    state.providers[name]?.machines[index].diedAt = seconds(clock.now)
                }
            }
        }
        persist(snapshot())
    }

    // MARK: - Derived state

    func seconds(_ duration: Duration) -> Double {
        duration.inSeconds
    }

    /// A factor in 1±jitter that depends only on the seed, the node and the process.
    func jitter(seed: UInt64, node: String, process: String) -> Double {
        1 + timings.jitter * (2 * StableHash.unitInterval("\(node)/\(process)", seed: seed) - 1)
    }

    func duration(_ base: Duration, seed: UInt64, node: String, process: String) -> Double {
        seconds(base) * jitter(seed: seed, node: node, process: process)
    }

    static func machines(_ state: SimulatorState, cluster: String) -> [SimulatedMachine] {
        state.providers.keys.sorted().flatMap { name in
            state.providers[name]?.machines.filter { $0.identity.cluster == cluster } ?? []
        }
    }

    static func isAlive(_ machine: SimulatedMachine) -> Bool { !machine.failed && !machine.deleted && machine.poweredOffAt == nil }

    static func talosStage(_ machine: SimulatedMachine, now: Double) -> TalosStage {
        guard isAlive(machine), now >= machine.runningAt else { return .unreachable }
        guard let runningAt = machine.talosRunningAt else { return .maintenance }
        return now >= runningAt ? .running : .installing
    }

    /// Etcd members now: the bootstrap node, and every control plane configured for the same
    /// cluster that has started joining; dead members stay members until removed. Talos adds a
    /// joining control plane as a learner and promotes it once caught up (API-FACTS.md section 4);
    /// see ``etcdJoins(_:cluster:)`` for when.
    func etcdMembers(_ state: SimulatorState, cluster: String, now: Double) -> [SimulatedMachine] {
        etcdMembership(state, cluster: cluster, now: now).map { $0.machine }
    }

    func etcdMembership(_ state: SimulatorState, cluster: String, now: Double) -> [(machine: SimulatedMachine, isLearner: Bool)] {
        etcdJoins(state, cluster: cluster).compactMap { join in
            // A machine that died before it was added never became a member; a removed one is gone.
            guard join.addedAt <= min(now, join.machine.diedAt ?? now), now < join.removedAt else { return nil }
            return (join.machine, join.promotedAt > now)
        }
    }

    /// When each control plane of the cluster was (or will be) added to etcd as a learner,
    /// promoted to a voter, and removed. The bootstrap node is a voter from the start. The others
    /// queue for etcd's single learner slot in the order they came up: each is added once it runs
    /// and the learner before it has left the slot, and waits ``SimulationTimings/etcdPromotionPerVoter``
    /// times the voters it makes. A learner leaves the slot when it is promoted or removed; one
    /// that dies first is never promoted and keeps the slot until it is removed, so every later
    /// join waits for that (etcd counts unstarted and dead learners alike; kubernetes-sigs/cluster-api#13221).
    /// Members removed in a world saved before removal times were kept count as never added.
    func etcdJoins(_ state: SimulatorState, cluster: String) -> [(machine: SimulatedMachine, addedAt: Double, promotedAt: Double, removedAt: Double)] {
        guard let record = state.clusters[cluster], let bootstrappedAt = record.bootstrappedAt, let clusterID = record.clusterID else { return [] }
        let removedAt = { (machine: SimulatedMachine) in record.memberRemovedAt[machine.providerID] ?? Double.infinity }
        let members = Self.machines(state, cluster: cluster).filter { machine in
            let removedLongAgo = record.removedMembers.contains(machine.providerID) && record.memberRemovedAt[machine.providerID] == nil
            return !removedLongAgo && !record.strayEtcd.contains(machine.providerID)
                && machine.config?.role == .controlPlane && machine.config?.clusterID == clusterID && machine.talosRunningAt != nil
        }
        var joins: [(machine: SimulatedMachine, addedAt: Double, promotedAt: Double, removedAt: Double)] = []
        if let bootstrap = members.first(where: { $0.providerID == record.bootstrapMachine }) {
            joins.append((bootstrap, bootstrappedAt, bootstrappedAt, removedAt(bootstrap)))
        }
        let joining = members.filter { $0.providerID != record.bootstrapMachine }.map { machine in
            (machine: machine, ready: max(machine.talosRunningAt ?? 0, bootstrappedAt)
                + duration(timings.etcdLearnerAdd, seed: state.seed, node: machine.identity.node, process: "etcd-add"))
        }.sorted { ($0.ready, $0.machine.identity.node) < ($1.ready, $1.machine.identity.node) }
        var slotFreeAt = -Double.infinity
        for (machine, ready) in joining {
            let addedAt = max(ready, slotFreeAt)
            // Dead before etcd added it: it never was a member and never held the slot.
            if let diedAt = machine.diedAt, diedAt < addedAt { continue }
            let removed = removedAt(machine)
            // The voters it makes: itself and the members not removed before it was added.
            let voters = 1 + joins.filter { $0.removedAt > addedAt }.count
            let promotion = duration(timings.etcdPromotionPerVoter, seed: state.seed, node: machine.identity.node, process: "etcd-join") * Double(voters)
            var promotedAt = addedAt + promotion
            if let diedAt = machine.diedAt, diedAt < promotedAt { promotedAt = .infinity }
            promotedAt = promotedAt < removed ? promotedAt : .infinity
            slotFreeAt = min(promotedAt, removed)
            joins.append((machine, addedAt, promotedAt, removed))
        }
        return joins
    }

    /// Whether the voting members alive are a majority of the voting members.
    func hasQuorum(_ state: SimulatorState, cluster: String, now: Double) -> Bool {
        let voters = etcdMembership(state, cluster: cluster, now: now).filter { !$0.isLearner }.map { $0.machine }
        let alive = voters.filter { Self.isAlive($0) && Self.talosStage($0, now: now) == .running }.count
        return !voters.isEmpty && alive * 2 > voters.count
    }

    func apiUpAt(_ state: SimulatorState, cluster: String) -> Double? {
        guard let bootstrappedAt = state.clusters[cluster]?.bootstrappedAt else { return nil }
        return bootstrappedAt + seconds(timings.bootstrapToAPI)
    }

    func isAPIUp(_ state: SimulatorState, cluster: String, now: Double) -> Bool {
        guard let upAt = apiUpAt(state, cluster: cluster), now >= upAt else { return false }
        return hasQuorum(state, cluster: cluster, now: now)
    }

    /// When the machine's kubelet turns Ready, if it can.
    func kubeletReadyAt(_ state: SimulatorState, machine: SimulatedMachine) -> Double? {
        guard let runningAt = machine.talosRunningAt, let upAt = apiUpAt(state, cluster: machine.identity.cluster),
            machine.config?.clusterID == state.clusters[machine.identity.cluster]?.clusterID
        else { return nil }
        return max(runningAt, upAt) + duration(timings.kubeletReady, seed: state.seed, node: machine.identity.node, process: "kubelet")
    }

    /// Registers Kubernetes node objects whose kubelets have come up by `now`.
    func settle(_ state: inout SimulatorState, cluster: String, now: Double) {
        guard isAPIUp(state, cluster: cluster, now: now) else { return }
        let deregistered = state.clusters[cluster]?.kubernetes?.deregistered ?? []
        for machine in Self.machines(state, cluster: cluster) where Self.isAlive(machine) {
            if deregistered.contains(machine.providerID) {
                if state.clusters[cluster]?.kubernetesNodes[machine.identity.node] == machine.providerID {
                    state.clusters[cluster]?.kubernetesNodes[machine.identity.node] = nil
                }
                continue
            }
            if let readyAt = kubeletReadyAt(state, machine: machine), now >= readyAt {
                state.clusters[cluster, default: .init()].kubernetesNodes[machine.identity.node] = machine.providerID
            }
        }
    }

    func observed(_ machine: SimulatedMachine, now: Double) -> ObservedMachine {
        let phase: MachinePhase =
            machine.failed ? .failed : machine.poweredOffAt != nil ? .stopped : (now >= machine.runningAt ? .running : .provisioning)
        return ObservedMachine(
            providerID: machine.providerID, provider: machine.provider, identity: machine.identity, phase: phase,
            addresses: [machine.address], size: machine.size, location: machine.location, imageID: machine.imageID)
    }

    static func digest(_ payload: MachineConfigPayload) -> String {
        SHA256.hash(data: payload.bytes).map { String($0, radix: 16).leftPadded(to: 2) }.joined()
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
