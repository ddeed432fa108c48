/// A failover playbook: replace a lost control plane or worker, or move the ingress floating IP.
///
/// ``plan(observed:)`` says what it would do from one observation (what `--dry-run` prints) and
/// refuses, saying why, when acting would be unsafe. ``run()`` observes, plans, then carries out
/// the steps one by one, each checking what exists before it acts, and reports every step with its
/// timing. It can be killed at any step: run again, it observes what the last run left and
/// continues. It never deletes a machine whose Talos API answers, and never removes the etcd
/// member of a healthy control plane: guards run again right before each destructive step.
///
/// Facts relied on are in ../shared/reference/FAILOVER-FACTS.md (sections named where used).
public struct FailoverPlaybook: Sendable {
    public struct Options: Sendable {
        /// Talos probes that must all go unanswered before a running machine counts as lost.
        public var confirmProbes: Int
        /// Pause between those probes: together they span more than one kubelet lease renewal
        /// (10 s, FAILOVER-FACTS.md section 3), so one dropped packet is not a lost node.
        public var probeInterval: Duration
        /// How often Talos, etcd and Kubernetes are polled while waiting.
        public var pollInterval: Duration
        public var retry: RetryPolicy
        /// How long the replacement may take from create to a healthy cluster. Talos' own etcd
        /// join retries last up to 30 minutes (FAILOVER-FACTS.md section 1.1, item 5).
        public var recoveryTimeout: Duration
        /// How long the floating IP may take to answer at its new holder.
        public var ingressTimeout: Duration
        /// The drain of a worker that still answers. Bounded: the pods of a dying kubelet may never
        /// finish terminating; deleting the Node afterwards frees them (kubernetes `nodes.md`).
        public var drain: NodeDrainer.Options

        public init(
            confirmProbes: Int = 3, probeInterval: Duration = .seconds(5), pollInterval: Duration = .seconds(5), retry: RetryPolicy = RetryPolicy(),
            recoveryTimeout: Duration = .seconds(1800), ingressTimeout: Duration = .seconds(120), drain: NodeDrainer.Options = NodeDrainer.Options(timeout: .seconds(120))
        ) {
            self.confirmProbes = max(1, confirmProbes)
            self.probeInterval = probeInterval
            self.pollInterval = pollInterval
            self.retry = retry
            self.recoveryTimeout = recoveryTimeout
            self.ingressTimeout = ingressTimeout
            self.drain = drain
        }
    }

    public let kind: PlaybookKind
    /// The lost node (the two replacement playbooks), or the node that should hold the ingress IP (optional).
    public let node: String?
    public let spec: ClusterSpec
    public let backend: ClusterBackend
    public let options: Options
    public let events: PlaybookEventSink

    public init(
        _ kind: PlaybookKind, node: String?, spec: ClusterSpec, backend: ClusterBackend, options: Options = Options(),
        events: @escaping PlaybookEventSink = { _ in }
    ) {
        self.kind = kind
        self.node = node
        self.spec = spec
        self.backend = backend
        self.options = options
        self.events = events
    }

    var time: any TimeSource { backend.time }

    /// Reads the cluster as ``plan(observed:)`` needs it. A provider whose inventory cannot be
    /// read is asked again a few times (a 429 or a 5xx passes), since a playbook must not take an
    /// unreadable inventory for a machine gone.
    public func observe() async throws -> FailoverObservation {
        var observed = try await FailoverObservation.observe(spec: spec, backend: backend)
        var attempt = 1
        while !observed.cluster.unreachableProviders.isEmpty, attempt < min(options.retry.maxAttempts, 4) {
            try await time.sleep(for: options.retry.delay(afterAttempt: attempt, key: "failover/observe", requested: nil))
            observed = try await FailoverObservation.observe(spec: spec, backend: backend)
            attempt += 1
        }
        return observed
    }

    /// The steps the playbook would take now; empty when nothing needs doing.
    /// - Throws: ``ClusterError`` `refused` saying why acting would be unsafe, `notFound` or
    ///   `invalidSpec` for a node or IP the spec does not have.
    public func plan(observed: FailoverObservation) throws(ClusterError) -> [PlaybookStep] {
        switch kind {
        case .controlPlaneLost: try replacementPlan(role: .controlPlane, observed: observed)
        case .workerLost: try replacementPlan(role: .worker, observed: observed)
        case .ingressIP: try ingressPlan(observed: observed).steps
        }
    }

    /// Observes, plans, and carries out the steps. Refusals and failures are in the report;
    /// only cancellation throws.
    public func run() async throws -> PlaybookReport {
        let start = time.now
        var run = PlaybookRun(playbook: self, start: start)
        emit(start, nil, .started, "\(kind.rawValue)\(node.map { " \($0)" } ?? "") on cluster \(spec.name)")
        let observed: FailoverObservation
        let steps: [PlaybookStep]
        do {
            observed = try await observe()
            steps = try plan(observed: observed)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            return run.finish(outcome: (error as? ClusterError)?.code == .refused ? .refused : .failed, reason: oneLine(error))
        }
        run.initial = observed
        if steps.isEmpty {
            return run.finish(outcome: .nothingToDo, reason: nothingToDoReason(observed))
        }
        for step in steps {
            let began = time.now - start
            emit(start, step, .started, step.detail)
            do {
                let (outcome, message) = try await execute(step, run: &run)
                let ended = time.now - start
                run.report.steps.append(.init(step: step, started: began, ended: ended, outcome: outcome, message: message))
                emit(start, step, outcome == .alreadyDone ? .skipped : .succeeded, "\(message) (\((ended - began).formattedSeconds))")
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                let ended = time.now - start
                let refused = (error as? ClusterError)?.code == .refused
                run.report.steps.append(.init(step: step, started: began, ended: ended, outcome: refused ? .refused : .failed, message: oneLine(error)))
                emit(start, step, .failed, oneLine(error))
                return run.finish(outcome: refused ? .refused : .failed, reason: "\(step.action.rawValue): \(oneLine(error))")
            }
        }
        if run.report.steps.allSatisfy({ $0.outcome == .alreadyDone }) {
            return run.finish(outcome: .nothingToDo, reason: nothingToDoReason(observed))
        }
        return run.finish(outcome: .completed, reason: nil)
    }

    func emit(_ start: Duration, _ step: PlaybookStep?, _ kind: PlaybookEvent.Kind, _ message: String) {
        events(PlaybookEvent(elapsed: time.now - start, action: step?.action, node: step?.node ?? node, kind: kind, message: message))
    }

    /// Node operations whose events are reported as progress of `step`.
    func operations(for step: PlaybookStep, start: Duration) -> NodeOperations {
        let events = events
        let time = time
        return NodeOperations(spec: spec, backend: backend, retry: options.retry, pollInterval: options.pollInterval, start: start) { event in
            let kind: PlaybookEvent.Kind = event.kind == .retrying ? .retrying : (event.kind == .failed ? .failed : .progress)
            events(PlaybookEvent(elapsed: time.now - start, action: step.action, node: event.subject ?? step.node, kind: kind, message: event.message))
        }
    }

    private func nothingToDoReason(_ observed: FailoverObservation) -> String {
        switch kind {
        case .ingressIP:
            let holder = observed.cluster.machines.first { $0.providerID == observed.ingressTarget }?.identity.node ?? "?"
            return "the ingress floating IP already points at \(holder), which is healthy"
        case .controlPlaneLost, .workerLost:
            return "\(node ?? "?") is healthy (provider running, Talos running, Ready\(kind == .controlPlaneLost ? ", etcd voting" : "")); nothing to replace"
        }
    }
}

/// The mutable state of one ``FailoverPlaybook/run()``.
struct PlaybookRun {
    let playbook: FailoverPlaybook
    let start: Duration
    var report: PlaybookReport
    var initial: FailoverObservation?
    /// When the floating IP was assigned, to measure assign-to-reachable.
    var ingressAssignedAt: Duration?

    init(playbook: FailoverPlaybook, start: Duration) {
        self.playbook = playbook
        self.start = start
        self.report = PlaybookReport(playbook: playbook.kind, cluster: playbook.spec.name, node: playbook.node, outcome: .completed)
    }

    var elapsed: Duration { playbook.time.now - start }

    mutating func finish(outcome: PlaybookReport.Outcome, reason: String?) -> PlaybookReport {
        report.outcome = outcome
        report.reason = reason
        report.elapsed = elapsed
        playbook.events(PlaybookEvent(
            elapsed: report.elapsed, action: nil, node: playbook.node, kind: outcome == .completed || outcome == .nothingToDo ? .succeeded : .failed,
            message: "\(outcome.rawValue)\(reason.map { ": \($0)" } ?? "") after \(report.elapsed.formattedSeconds)"))
        return report
    }
}
