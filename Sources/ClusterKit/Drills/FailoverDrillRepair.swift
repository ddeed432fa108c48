/// Detects and repairs a drill's fault with the failover playbooks, as a real outage would be
/// repaired: `lose-controlplane` runs ``PlaybookKind/controlPlaneLost``, `lose-worker`
/// ``PlaybookKind/workerLost`` (each removes what is left of the node and replaces it under the
/// same name), and `move-ingress-ip` runs ``PlaybookKind/ingressIP`` (the IP moves to a healthy
/// candidate), then powers the old holder back on and waits until it is healthy, so the drill
/// leaves the cluster with every node it had.
///
/// Detection reads the provider's state and the Talos API, not only Kubernetes: a powered-off
/// node stays Ready for 40-55 s (node-monitor grace period, FAILOVER-FACTS.md section 3).
/// `failover.replacement` is honoured as the failover watcher does: the replacement waits out
/// `nodeLostAfter`; in `manual` mode it stops and reports the playbook it would run. The IP move
/// never waits (the watcher moves it at once).
public struct FailoverDrillRepair: DrillRepair {
    public let spec: ClusterSpec
    public let backend: ClusterBackend
    /// How often detection and the wait for a powered-on node read the cluster.
    public let pollInterval: Duration
    public let playbook: FailoverPlaybook.Options
    /// Live progress: the repair's own steps and the playbook's, timed from the drill's start.
    public let events: DrillEventSink

    public init(
        spec: ClusterSpec, backend: ClusterBackend, pollInterval: Duration = .seconds(10), playbook: FailoverPlaybook.Options = FailoverPlaybook.Options(),
        events: @escaping DrillEventSink = { _ in }
    ) {
        self.spec = spec
        self.backend = backend
        self.pollInterval = pollInterval
        self.playbook = playbook
        self.events = events
    }

    public func repair(_ fault: DrillFault, urgent: Bool) async throws -> DrillRepairResult {
        var log = StepLog(drillStart: fault.drillStart, time: backend.time, node: fault.node, events: events)
        let detectedAt = try await detect(fault, urgent: urgent, log: &log)
        if !urgent, fault.scenario != .moveIngressIP, let replacement = spec.failover?.replacement {
            try await honour(replacement, kind: PlaybookKind.replacing(fault.role), fault: fault, log: &log)
        }
        // A stop condition tripped: whatever else the drill's watch saw lost is repaired too, at
        // the same time, since each playbook waits for every node that was Ready when it began
        // (a second node lost moments ago is still Ready for 40-55 s) and so for the others' repair.
        let others = urgent ? try await lostMachines(except: fault.node) : []
        let start = log.drillStart
        let time = backend.time
        let (recoveredAt, steps) = try await withThrowingTaskGroup(of: (Duration?, [DrillReport.Step]).self) { group in
            group.addTask {
                var log = StepLog(drillStart: start, time: time, node: fault.node, events: events)
                let recovered = try await repairTarget(fault, log: &log)
                return (recovered, log.steps)
            }
            for machine in others {
                group.addTask {
                    var log = StepLog(drillStart: start, time: time, node: machine.identity.node, events: events)
                    if machine.phase == .stopped {
                        try await bringBack(machine.identity.node, log: &log)
                    } else {
                        _ = try await runPlaybook(PlaybookKind.replacing(machine.identity.role), node: machine.identity.node, log: &log)
                    }
                    return (nil, log.steps)
                }
            }
            var recoveredAt: Duration?
            var steps: [DrillReport.Step] = []
            // The target's task is the only one that measures recovery.
            while let (recovered, more) = try await group.next() {
                recoveredAt = recoveredAt ?? recovered
                steps += more
            }
            return (recoveredAt, steps)
        }
        log.steps += steps.sorted { $0.started < $1.started }
        return DrillRepairResult(detectedAt: detectedAt, recoveredAt: recoveredAt, steps: log.steps)
    }

    /// The matching playbook for the node the drill broke; for the IP, the move and the way back.
    /// Returns when the service was back, by the playbook's own measure.
    private func repairTarget(_ fault: DrillFault, log: inout StepLog) async throws -> Duration? {
        switch fault.scenario {
        case .loseControlPlane, .loseWorker:
            return try await runPlaybook(PlaybookKind.replacing(fault.role), node: fault.node, log: &log).recoveredAt
        case .moveIngressIP:
            let recovered = try await runPlaybook(.ingressIP, node: nil, log: &log).ingressAt
            try await bringBack(fault.node, log: &log)
            return recovered
        case .etcdRestore:
            throw ClusterError(.refused, "scenario etcd-restore has no repair yet: it needs the etcd snapshot and restore playbook")
        }
    }

    /// Machines other than `node` the provider reports powered off or failed.
    private func lostMachines(except node: String) async throws -> [ObservedMachine] {
        let observed = try await ObservedCluster.observe(spec: spec, backend: backend)
        return observed.machines.filter { $0.identity.node != node && ($0.phase == .stopped || $0.phase == .failed) }.sorted { $0.identity.node < $1.identity.node }
    }

    /// Polls until the provider, Talos or Kubernetes shows the fault. An urgent repair looks once.
    private func detect(_ fault: DrillFault, urgent: Bool, log: inout StepLog) async throws -> Duration? {
        let started = log.now
        while true {
            let observed = try await FailoverObservation.observe(spec: spec, backend: backend)
            let problems: [String]
            if let machine = observed.machines(named: fault.node).first(where: { $0.providerID == fault.providerID }) {
                problems = observed.problems(of: machine)
            } else {
                problems = ["its machine \(fault.providerID) is gone"]
            }
            if !problems.isEmpty {
                log.step("detect", started: started, passed: true, detail: "\(fault.node): " + problems.joined(separator: ", "))
                return backend.time.now
            }
            if urgent {
                log.step("detect", started: started, passed: true, detail: "\(fault.node) looks healthy now")
                return nil
            }
            try await backend.time.sleep(for: pollInterval)
        }
    }

    /// Waits out `nodeLostAfter` from the fault, or in manual mode stops and says what would run.
    private func honour(_ replacement: ReplacementPolicy, kind: PlaybookKind, fault: DrillFault, log: inout StepLog) async throws {
        let command = "clusterctl failover \(spec.name) \(kind.rawValue) \(fault.node)"
        if replacement.mode == .manual {
            let started = log.now
            let failover = FailoverPlaybook(kind, node: fault.node, spec: spec, backend: backend, options: playbook)
            let plan: String
            do {
                plan = try failover.plan(observed: try await failover.observe()).map(\.detail).joined(separator: "; ")
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                plan = "the playbook would refuse now: \(error)"
            }
            log.step("replace", started: started, passed: false, detail: "failover.replacement.mode is manual: `\(command)` would run now: \(plan)")
            throw ClusterError(
                .refused, "failover.replacement.mode is manual, so \(fault.node) was not replaced",
                hint: "`\(command)` replaces it; `clusterctl drill stop \(spec.name)` does too")
        }
        let lostAt = fault.injectedAt + replacement.nodeLostAfter
        let time = backend.time
        if time.now < lostAt {
            let started = log.now
            log.note("wait", "waiting out failover.replacement.nodeLostAfter \(replacement.nodeLostAfter.formattedSeconds) from the power cut before replacing \(fault.node), as the watcher would")
            try await time.sleep(for: lostAt - time.now)
            log.step("wait", started: started, passed: true, detail: "failover.replacement.nodeLostAfter \(replacement.nodeLostAfter.formattedSeconds): \(fault.node) counts as lost")
        }
    }

    /// Runs a playbook, records its steps, and throws when it did not succeed.
    private func runPlaybook(_ kind: PlaybookKind, node: String?, log: inout StepLog) async throws -> (recoveredAt: Duration?, ingressAt: Duration?) {
        let start = backend.time.now
        let offset = start - log.drillStart
        let report = try await FailoverPlaybook(kind, node: node, spec: spec, backend: backend, options: playbook, events: { [events] event in
            events(DrillEvent(elapsed: offset + event.elapsed, step: event.action?.rawValue ?? kind.rawValue, node: event.node ?? node, kind: event.kind, message: event.message))
        }).run()
        for record in report.steps {
            log.record(
                record.step.action.rawValue, started: start + record.started, ended: start + record.ended,
                passed: record.outcome == .done || record.outcome == .alreadyDone, detail: record.message)
        }
        guard report.succeeded else {
            let command = "clusterctl failover \(spec.name) \(kind.rawValue)\(node.map { " \($0)" } ?? "")"
            if report.steps.isEmpty {
                log.step(kind.rawValue, started: (start - log.drillStart).inSeconds, passed: false, detail: "\(report.outcome.rawValue): \(report.reason ?? "")")
            }
            throw ClusterError(
                report.outcome == .refused ? .refused : .partialFailure, "the \(kind.rawValue) playbook \(report.outcome.rawValue): \(report.reason ?? "no reason given")",
                hint: "run `\(command)` again once the reason is dealt with; it continues from what exists")
        }
        let ingress = report.steps.last { $0.step.action == .verifyIngress }.map { start + $0.ended }
        return (report.recoveredAfter.map { start + $0 }, ingress)
    }

    /// Powers `node` back on and waits until it is healthy again (provider, Talos, Ready, etcd).
    private func bringBack(_ node: String, log: inout StepLog) async throws {
        var started = log.now
        let report = try await NodePowerControl(provisioners: backend.provisioners).apply(.on, node: node, cluster: spec.name)
        log.step("power-on", started: started, passed: true, detail: "\(node) (\(report.machine) on \(report.provider)) reports power \(report.power)")
        started = log.now
        let time = backend.time
        let deadline = time.now + playbook.recoveryTimeout
        while true {
            let observed = try await FailoverObservation.observe(spec: spec, backend: backend)
            let machine = observed.machines(named: node).first
            if let machine, observed.isHealthy(machine) {
                log.step("wait-ready", started: started, passed: true, detail: "\(node) is back: provider running, Talos running, Ready")
                return
            }
            guard time.now < deadline else {
                let problems = machine.map { observed.problems(of: $0).joined(separator: ", ") } ?? "it has no machine"
                log.step("wait-ready", started: started, passed: false, detail: "\(node) did not come back: \(problems)")
                throw ClusterError(
                    .timeout, "\(node) was powered on but is not healthy after \(playbook.recoveryTimeout.formattedSeconds): \(problems)",
                    hint: "check it with `clusterctl status \(spec.name)`; `clusterctl up \(spec.name)` replaces it if it stays down")
            }
            try await time.sleep(for: pollInterval)
        }
    }
}

/// The steps of one repair, timed in seconds since the drill started, each also sent as it
/// ends to the drill's events (a playbook's steps are not: its own events went out live).
private struct StepLog: Sendable {
    let drillStart: Duration
    let time: any TimeSource
    let node: String
    let events: DrillEventSink
    var steps: [DrillReport.Step] = []

    init(drillStart: Duration, time: any TimeSource, node: String, events: @escaping DrillEventSink) {
        self.drillStart = drillStart
        self.time = time
        self.node = node
        self.events = events
    }

    var now: Double { (time.now - drillStart).inSeconds }

    mutating func step(_ name: String, started: Double, passed: Bool, detail: String) {
        let step = DrillReport.Step(name: name, started: started, duration: now - started, passed: passed, detail: detail)
        steps.append(step)
        events(DrillEvent(ended: step, at: time.now - drillStart, node: node))
    }

    /// Says what the repair is doing now, without recording a step.
    func note(_ name: String, _ message: String) {
        events(DrillEvent(elapsed: time.now - drillStart, step: name, node: node, kind: .progress, message: message))
    }

    mutating func record(_ name: String, started: Duration, ended: Duration, passed: Bool, detail: String) {
        let from = (started - drillStart).inSeconds
        steps.append(DrillReport.Step(name: name, started: from, duration: (ended - drillStart).inSeconds - from, passed: passed, detail: detail))
    }
}
