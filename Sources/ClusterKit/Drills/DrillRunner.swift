public import Foundation
import Synchronization

/// Runs one drill scenario: guards, fault, repair, probes before/during/after, stop conditions,
/// detection time and RTO. It knows nothing of providers: the fault comes through a
/// ``DrillFaultInjector``, the repair through a ``DrillRepair``, the lock and `drill stop`
/// through a ``DrillLease``, and all waiting through the backend's clock.
///
/// Stop conditions are checked at every probe round while the fault is in place (AWS FIS stop
/// conditions, Gremlin abort conditions): `maxDuration` exceeded, etcd quorum at risk (fewer
/// voting members up than before minus the one the drill took), a second node lost (a machine
/// other than the target failed, or a node Ready before stays NotReady for three rounds), and a
/// stop request from `drill stop`. Any of them cancels the repair in progress and runs it again
/// at once (`urgent`), then waits for steady state.
public struct DrillRunner: Sendable {
    public struct Options: Sendable {
        /// Between probe rounds.
        public var pollInterval: Duration
        /// How long steady state may take to return after an aborted drill's repair.
        public var settleTimeout: Duration

        public init(pollInterval: Duration = .seconds(10), settleTimeout: Duration = .seconds(30 * 60)) {
            self.pollInterval = pollInterval
            self.settleTimeout = settleTimeout
        }
    }

    public let spec: ClusterSpec
    public let backend: ClusterBackend
    public let injector: any DrillFaultInjector
    public let repair: any DrillRepair
    public let lease: any DrillLease
    public let simulated: Bool
    public let options: Options
    /// Wall-clock time for the report's dates (the backend's clock is virtual in the simulator).
    public let wallClock: @Sendable () -> Date
    /// Live progress: every step as it ends, the repair's included.
    public let events: DrillEventSink

    public init(
        spec: ClusterSpec, backend: ClusterBackend, injector: any DrillFaultInjector, repair: any DrillRepair, lease: any DrillLease, simulated: Bool,
        options: Options = Options(), wallClock: @escaping @Sendable () -> Date = { Date() }, events: @escaping DrillEventSink = { _ in }
    ) {
        self.spec = spec
        self.backend = backend
        self.injector = injector
        self.repair = repair
        self.lease = lease
        self.simulated = simulated
        self.options = options
        self.wallClock = wallClock
        self.events = events
    }

    /// Runs `scenario` to its end and returns its report.
    /// - Throws: ``ClusterError`` `.refused` when the guards are not met (nothing was broken);
    ///   cancellation when the command is interrupted.
    public func run(_ scenario: DrillSpec.Scenario) async throws -> DrillReport {
        guard let drills = spec.drills else {
            throw ClusterError(.invalidSpec, "cluster \(spec.name) has no drills: section", hint: "add drills: to the spec")
        }
        let time = backend.time
        let start = time.now
        let startedAt = wallClock()
        let log = DrillLog(events: events)
        let at: @Sendable () -> Double = { (time.now - start).inSeconds }
        let probes = DrillProbes(spec: spec, backend: backend)
        events(DrillEvent(elapsed: .zero, step: "guards", node: nil, kind: .started, message: "checking steady state and the guards"))

        // Steady state and guards.
        let before = try await probes.run(.before, at: at())
        log.add(before.probes)
        if drills.guards.requireHealthy && !before.allPassed {
            throw ClusterError(
                .refused, "cluster \(spec.name) is not healthy, so no drill was started: \(before.failed.map { "\($0.name): \($0.detail)" }.joined(separator: "; "))",
                hint: "repair it first (`clusterctl status \(spec.name)`, `clusterctl up \(spec.name)`); guards.requireHealthy is on")
        }
        if before.readyControlPlanes < drills.guards.minReadyControlPlanes {
            throw ClusterError(
                .refused, "only \(before.readyControlPlanes) control plane(s) are healthy (running, Talos answering, Ready) and guards.minReadyControlPlanes is \(drills.guards.minReadyControlPlanes), so no drill was started",
                hint: "bring the control planes back first (`clusterctl up \(spec.name)`)")
        }
        let target = try pickTarget(scenario, before)
        log.step("guards", started: 0, ended: at(), passed: true, detail: "\(before.probes.count) probes passed; \(before.readyControlPlanes) control planes healthy")

        // The fault.
        let injectStarted = at()
        let line = try await injector.powerOff(target, scenario: scenario)
        let fault = DrillFault(
            scenario: scenario, node: target.identity.node, providerID: target.providerID, role: target.identity.role, drillStart: start, injectedAt: time.now)
        log.step("inject", started: injectStarted, ended: at(), passed: true, detail: line, node: target.identity.node)
        events(DrillEvent(
            elapsed: time.now - start, step: "watch", node: target.identity.node, kind: .progress,
            message: "probing every \(options.pollInterval.formattedSeconds) while the repair runs; a stop condition ends the drill early"))
        // Not recorded now (the API out of reach): the watch tries again at every round.
        let recorded = try await Self.reachingLease { try await lease.recordFault(node: fault.node, scenario: scenario.rawValue) } != nil

        // Repair and watch, whichever ends first.
        let ending = try await withThrowingTaskGroup(of: Ending.self) { group in
            group.addTask {
                do { return .repaired(try await repair.repair(fault, urgent: false)) } catch is CancellationError {
                    throw CancellationError()
                } catch {
                    return .repairFailed("\(error)")
                }
            }
            group.addTask {
                try await watch(fault, recorded: recorded, before: before, maxDuration: drills.guards.maxDuration, probes: probes, log: log, at: at)
            }
            defer { group.cancelAll() }
            guard let first = try await group.next() else { throw CancellationError() }
            return first
        }

        var outcome = DrillReport.Outcome.passed
        var reason: String?
        var detection: Double?
        var repairRecovered: Duration?
        switch ending {
        case .repaired(let result):
            log.add(result.steps)
            detection = result.detectedAt.map { ($0 - fault.injectedAt).inSeconds }
            repairRecovered = result.recoveredAt
        case .repairFailed(let message):
            // Nothing more will repair it: one round of probes for the report, no waiting.
            events(DrillEvent(elapsed: time.now - start, step: "repair", node: fault.node, kind: .failed, message: "the repair failed: \(message)"))
            outcome = .failed
            reason = "the repair failed: \(message); \(fault.node) is still powered off (`clusterctl up \(spec.name)` replaces it)"
        case .aborted(let why):
            outcome = .aborted
            reason = why
            events(DrillEvent(elapsed: time.now - start, step: "abort", node: fault.node, kind: .failed, message: "\(why): stopping the drill and repairing at once"))
            let repairStarted = at()
            do {
                let result = try await keepingLease { try await repair.repair(fault, urgent: true) }
                log.add(result.steps)
                detection = result.detectedAt.map { ($0 - fault.injectedAt).inSeconds }
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                log.step("repair", started: repairStarted, ended: at(), passed: false, detail: "the repair after the abort failed: \(error)")
                reason = "\(why); the repair after it failed: \(error)"
            }
        }

        // Steady state again: the first round where every probe passes ends the recovery.
        let deadline: Duration = switch ending {
        case .repaired: start + drills.guards.maxDuration
        case .repairFailed: time.now
        case .aborted: time.now + options.settleTimeout
        }
        let verifyStarted = at()
        var recovered: Duration?
        while true {
            let round = try await probes.run(.after, at: at())
            log.add(round.probes)
            if round.allPassed {
                recovered = time.now
                break
            }
            if time.now >= deadline {
                log.step("verify", started: verifyStarted, ended: at(), passed: false, detail: "steady state did not return: \(round.failed.map { "\($0.name): \($0.detail)" }.joined(separator: "; "))")
                switch ending {
                case .repaired:
                    outcome = .failed
                    reason = "guards.maxDuration \(drills.guards.maxDuration.formattedSeconds) passed before steady state returned"
                case .aborted:
                    reason = (reason ?? "aborted") + "; steady state did not return: the cluster still needs `clusterctl up \(spec.name)`"
                case .repairFailed:
                    break
                }
                break
            }
            try await time.sleep(for: options.pollInterval)
            _ = try await Self.reachingLease { try await lease.renew() }
        }
        if recovered != nil {
            log.step("verify", started: verifyStarted, ended: at(), passed: true, detail: "every probe passed")
            // Out of reach now: the release at the end clears it as well.
            _ = try await Self.reachingLease { try await lease.recordFault(node: nil, scenario: scenario.rawValue) }
        }
        // The playbook's own measure when it gave one (replacement healthy, IP answering at its
        // new holder), else the first round where every probe passed.
        let rto = outcome == .passed ? (repairRecovered ?? recovered).map { ($0 - fault.injectedAt).inSeconds } : nil
        return DrillReport(
            cluster: spec.name, scenario: scenario.rawValue, simulated: simulated, target: fault.node, startedAt: startedAt,
            endedAt: max(wallClock(), startedAt), probes: log.probes, steps: log.steps, detectionSeconds: detection, rtoSeconds: rto,
            outcome: outcome, abortReason: reason)
    }

    private enum Ending: Sendable {
        case repaired(DrillRepairResult)
        case repairFailed(String)
        case aborted(String)
    }

    /// A lease call while the fault is in place, or nil when the lease's store is out of reach
    /// for now (a transient failure): on a real cluster the lease is a Kubernetes Lease, and the
    /// ingress IP a drill moves may be the API endpoint too, unreachable until it has moved. The
    /// next round tries again; ending the drill here would leave its node powered off. A refusal
    /// (the lease taken over) still ends it.
    static func reachingLease<Value: Sendable>(_ call: () async throws -> Value) async throws -> Value? {
        do { return try await call() } catch let error as any RetryClassifying where error.isTransient { return nil }
    }

    /// Runs `body` while renewing the lease every poll interval, so a long repair does not let it expire.
    private func keepingLease<Value: Sendable>(_ body: @escaping @Sendable () async throws -> Value) async throws -> Value {
        let lease = lease
        let time = backend.time
        let interval = options.pollInterval
        return try await withThrowingTaskGroup(of: Value?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                while true {
                    try await time.sleep(for: interval)
                    _ = try await Self.reachingLease { try await lease.renew() }
                }
            }
            defer { group.cancelAll() }
            while let result = try await group.next() {
                if let result { return result }
            }
            throw CancellationError()
        }
    }

    /// Probes while the fault is in place; returns only when a stop condition trips.
    private func watch(
        _ fault: DrillFault, recorded: Bool, before: DrillProbes.Round, maxDuration: Duration, probes: DrillProbes, log: DrillLog, at: @escaping @Sendable () -> Double
    ) async throws -> Ending {
        let time = backend.time
        let expectedVoters = before.aliveVoters - (fault.role == .controlPlane ? 1 : 0)
        var notReadyRounds: [String: Int] = [:]
        var recorded = recorded
        while true {
            try await time.sleep(for: options.pollInterval)
            if time.now - fault.drillStart > maxDuration {
                return .aborted("guards.maxDuration \(maxDuration.formattedSeconds) exceeded")
            }
            if !recorded {
                recorded = try await Self.reachingLease { try await lease.recordFault(node: fault.node, scenario: fault.scenario.rawValue) } != nil
            }
            if let stop = try await Self.reachingLease({ try await lease.renew() }) ?? nil {
                return .aborted(stop)
            }
            let round = try await probes.run(.during, at: at())
            log.add(round.probes)
            guard round.observed != nil else { continue }
            // etcd lists no members when it has no leader: quorum is already gone.
            if before.voters > 0 && round.voters == 0 {
                return .aborted("etcd quorum at risk: no control plane lists the etcd members (no leader)")
            }
            if round.voters > 0 && (round.aliveVoters < expectedVoters || round.aliveVoters < EtcdMember.quorum(ofVoters: round.voters)) {
                return .aborted("etcd quorum at risk: \(round.aliveVoters) of \(round.voters) voting members up, \(expectedVoters) expected")
            }
            let others = round.lostNodes.subtracting([fault.node])
            if let second = others.sorted().first {
                return .aborted("a second node was lost: \(second)")
            }
            if !round.probes.contains(where: { $0.name == "kubernetes-api" && !$0.passed }) {
                for node in before.readyNodes where node != fault.node {
                    notReadyRounds[node] = round.readyNodes.contains(node) ? 0 : (notReadyRounds[node] ?? 0) + 1
                }
                if let second = notReadyRounds.filter({ $0.value >= 3 }).keys.sorted().first {
                    return .aborted("a second node was lost: \(second) stayed NotReady")
                }
            }
        }
    }

    /// The node a scenario powers off: a healthy worker; a healthy control plane that does not hold
    /// the ingress IP (moving it is its own scenario); the ingress IP's holder. The last by name,
    /// so the same cluster drills the same node each time.
    func pickTarget(_ scenario: DrillSpec.Scenario, _ round: DrillProbes.Round) throws(ClusterError) -> ObservedMachine {
        let machines = (round.observed?.machines ?? []).filter { round.healthyNodes.contains($0.identity.node) }
        let candidates: [ObservedMachine]
        switch scenario {
        case .loseWorker:
            candidates = machines.filter { $0.identity.role == .worker }
        case .loseControlPlane:
            candidates = machines.filter { $0.identity.role == .controlPlane && $0.identity.node != round.ingressHolder }
        case .moveIngressIP:
            guard spec.failover?.ingressIP != nil else {
                throw ClusterError(.refused, "scenario move-ingress-ip needs failover.ingressIP in the spec", hint: "add it, or drop the scenario from drills.scenarios")
            }
            candidates = machines.filter { $0.identity.node == round.ingressHolder }
        case .etcdRestore:
            throw ClusterError(
                .refused, "scenario etcd-restore is not drilled yet: it needs the etcd snapshot and restore playbook",
                hint: "drop it from drills.scenarios, or run the others with --scenario")
        }
        guard let target = candidates.max(by: { $0.identity.node < $1.identity.node }) else {
            throw ClusterError(.refused, "no Ready node fits scenario \(scenario.rawValue), so no drill was started", hint: "check `clusterctl status \(spec.name)`")
        }
        return target
    }
}

/// The probes and steps of a running drill, appended from its concurrent tasks.
final class DrillLog: Sendable {
    private let state = Mutex<(probes: [DrillReport.Probe], steps: [DrillReport.Step])>(([], []))
    private let events: DrillEventSink

    init(events: @escaping DrillEventSink) { self.events = events }

    var probes: [DrillReport.Probe] { state.withLock { $0.probes } }
    var steps: [DrillReport.Step] { state.withLock { $0.steps } }

    func add(_ probes: [DrillReport.Probe]) { state.withLock { $0.probes += probes } }
    func add(_ steps: [DrillReport.Step]) { state.withLock { $0.steps += steps } }

    /// Records a step of the drill's own and sends it to the drill's events.
    func step(_ name: String, started: Double, ended: Double, passed: Bool, detail: String, node: String? = nil) {
        let step = DrillReport.Step(name: name, started: started, duration: ended - started, passed: passed, detail: detail)
        add([step])
        events(DrillEvent(ended: step, at: .seconds(ended), node: node))
    }
}
