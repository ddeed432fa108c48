/// Watches a cluster and runs the failover playbooks: the long-running side of `clusterctl watch`.
///
/// Every ``Options/probeInterval`` it asks each node's Talos API whether it runs; every
/// ``Options/listInterval`` it lists the machines, one call per provider whatever the number of
/// nodes (Hetzner allows 3600 requests an hour; a list every 10 s spends a tenth of that). A node
/// silent on ``Options/missesToDetect`` probes in a row is lost: detection within 5-15 s, well
/// before Kubernetes marks it NotReady (40-55 s, FAILOVER-FACTS.md section 3). When the lost node
/// holds the ingress floating IP, the IP moves at once. After `failover.replacement.nodeLostAfter`
/// the replacement playbook runs when `replacement.mode` is automatic; when it is manual the
/// watcher only says what it would run.
///
/// A replacement takes minutes (create, install, etcd's learner promotion), so it runs in a child
/// task of ``run(for:)`` while the loop keeps probing: a lost ingress holder still moves the IP at
/// once. One replacement runs at a time, as etcd adds one learner at a time and wants a member
/// removed before the next is added (FAILOVER-FACTS.md sections 1.3 and 2); a second lost node's
/// replacement waits its turn. When the watch ends, a replacement still running is cancelled and
/// reported (``Report/cancelled``); running its playbook again finishes the job.
///
/// Before any playbook it joins the watcher's hold on the cluster's lock (``WatcherLease``), so it
/// does nothing while a drill or another command holds it, and nobody else gets in while one of
/// its playbooks runs.
public struct FailoverWatcher: Sendable {
    public struct Options: Sendable {
        public var probeInterval: Duration
        public var listInterval: Duration
        public var missesToDetect: Int
        public var playbook: FailoverPlaybook.Options

        public init(
            probeInterval: Duration = .seconds(5), listInterval: Duration = .seconds(10), missesToDetect: Int = 2,
            playbook: FailoverPlaybook.Options = FailoverPlaybook.Options()
        ) {
            self.probeInterval = probeInterval
            self.listInterval = listInterval
            self.missesToDetect = max(1, missesToDetect)
            self.playbook = playbook
        }
    }

    /// One lost node, as the watcher saw it.
    public struct Detection: Sendable, Hashable, Codable {
        public var node: String
        /// When the first probe went unanswered (watcher clock).
        public var firstMiss: Duration
        /// When the node was declared lost.
        public var detected: Duration
    }

    /// One playbook the watcher started, on the watcher's clock (from the watch's start).
    public struct PlaybookRun: Sendable, Hashable, Codable {
        public var playbook: PlaybookKind
        public var node: String?
        public var started: Duration
        public var ended: Duration
        /// How it ended; nil when the watch ended first and cancelled it.
        public var outcome: PlaybookReport.Outcome?
        /// The step a cancelled playbook was in.
        public var cancelledAt: PlaybookStep.Action?
    }

    /// What a watch did, for tests, drills and `--for` runs.
    public struct Report: Sendable {
        public var detections: [Detection]
        /// The playbooks that ran to their end, in the order they ended.
        public var playbooks: [PlaybookReport]
        /// Playbooks the manual mode would have run: `controlplane-lost home-cp-2`.
        public var wouldRun: [String]
        /// Replacements still waiting their turn when the watch ended: `worker-lost home-workers-2`.
        public var notStarted: [String] = []
        /// Every playbook started, with its times, in the order they ended (or were cancelled).
        public var runs: [PlaybookRun]

        /// Replacements the end of the watch cancelled: their playbook must be run again to finish.
        public var cancelled: [PlaybookRun] { runs.filter { $0.outcome == nil } }
    }

    public let spec: ClusterSpec
    public let backend: ClusterBackend
    public let options: Options
    public let lock: (any ClusterLock)?
    public let metrics: WatcherMetrics
    public let events: PlaybookEventSink

    public init(
        spec: ClusterSpec, backend: ClusterBackend, options: Options = Options(), lock: (any ClusterLock)? = nil, metrics: WatcherMetrics = WatcherMetrics(),
        events: @escaping PlaybookEventSink = { _ in }
    ) {
        self.spec = spec
        self.backend = backend
        self.options = options
        self.lock = lock
        self.metrics = metrics
        self.events = events
    }

    struct NodeWatch {
        var machine: ObservedMachine
        var seenAlive = false
        var misses = 0
        var firstMiss: Duration?
        var detected: Duration?
        var ingressHandled = false
        var replacementHandled = false
    }

    /// How the watcher reports its own doings (not a playbook's): node, kind, message.
    typealias Emit = @Sendable (_ node: String?, _ kind: PlaybookEvent.Kind, _ message: String) -> Void

    /// Watches until `duration` has passed (nil: until cancelled). A replacement still running
    /// then is cancelled, awaited and listed in ``Report/cancelled``; when the watch itself is
    /// cancelled, so is the replacement, and the cancellation is thrown once it has unwound.
    public func run(for duration: Duration? = nil) async throws -> Report {
        let time = backend.time
        let start = time.now
        let ledger = WatcherLedger()
        let lease = WatcherLease(lock: lock)
        let events = events
        let emit: Emit = { node, kind, message in
            events(PlaybookEvent(elapsed: time.now - start, action: nil, node: node, kind: kind, message: message))
        }
        let replacement = spec.failover?.replacement ?? ReplacementPolicy(mode: .manual, nodeLostAfter: .seconds(600))
        emit(nil, .started, "watching \(spec.name): Talos probes every \(options.probeInterval.formattedSeconds), machine list every \(options.listInterval.formattedSeconds), replacement \(replacement.mode.rawValue) after \(replacement.nodeLostAfter.formattedSeconds)")
        try await withThrowingDiscardingTaskGroup { group in
            var nodes: [String: NodeWatch] = [:]
            var lastList: Duration?
            /// Lost nodes whose replacement was said to wait for the running one.
            var waiting: Set<String> = []
            while duration.map({ time.now - start < $0 }) ?? true {
                // A replacement refused or failed is tried again, as a playbook run by hand would be.
                for (node, outcome) in ledger.takeEnded() where outcome == .refused || outcome == .failed {
                    nodes[node]?.replacementHandled = false
                }
                if lastList.map({ time.now - $0 >= options.listInterval }) ?? true {
                    lastList = time.now
                    for machine in await listMachines() {
                        let name = machine.identity.node
                        if nodes[name]?.machine.providerID != machine.providerID {
                            // A machine its provider reports failed or stopped was part of the
                            // cluster; one that is merely silent may still be booting.
                            nodes[name] = NodeWatch(machine: machine, seenAlive: machine.phase == .failed || machine.phase == .stopped)
                        } else {
                            nodes[name]?.machine = machine
                        }
                    }
                }
                for (name, alive) in await probe(nodes.values.map(\.machine)) {
                    guard var watch = nodes[name] else { continue }
                    if alive {
                        watch.seenAlive = true
                        watch.misses = 0
                        watch.firstMiss = nil
                    } else if watch.seenAlive, watch.detected == nil {
                        watch.misses += 1
                        watch.firstMiss = watch.firstMiss ?? time.now
                        if watch.misses >= options.missesToDetect {
                            watch.detected = time.now
                            let detection = Detection(node: name, firstMiss: (watch.firstMiss ?? time.now) - start, detected: time.now - start)
                            ledger.detected(detection)
                            metrics.detected(after: detection.detected - detection.firstMiss)
                            emit(name, .failed, "lost: \(watch.misses) Talos probes unanswered\(watch.machine.phase != .running ? ", provider reports it \(watch.machine.phase.rawValue)" : "")")
                        }
                    }
                    nodes[name] = watch
                }
                metrics.nodes(seen: nodes.values.filter(\.seenAlive).count, lost: nodes.values.filter { $0.detected != nil }.count)
                // The IP first, whatever runs in the background: traffic moves in seconds.
                for name in nodes.keys.sorted() {
                    guard let watch = nodes[name], watch.detected != nil, !watch.ingressHandled else { continue }
                    nodes[name]?.ingressHandled = true
                    if spec.failover?.ingressIP != nil, try await holdsIngress(watch.machine) {
                        let outcome = try await moveIngress(lease: lease, ledger: ledger, emit: emit, start: start)
                        // Locked out, or no candidate yet: try again on the next round.
                        if outcome?.succeeded != true { nodes[name]?.ingressHandled = false }
                    }
                }
                // Replacements due, the longest lost first.
                let due = nodes.compactMap { name, watch -> (String, Duration)? in
                    guard !watch.replacementHandled, let detected = watch.detected, time.now - detected >= replacement.nodeLostAfter else { return nil }
                    return (name, detected)
                }.sorted { ($0.1, $0.0) < ($1.1, $1.0) }
                for (name, detected) in due {
                    guard let watch = nodes[name] else { continue }
                    let kind = PlaybookKind.replacing(watch.machine.identity.role)
                    guard replacement.mode == .automatic else {
                        nodes[name]?.replacementHandled = true
                        ledger.wouldRun("\(kind.rawValue) \(name)")
                        emit(name, .skipped, "lost for \((time.now - detected).formattedSeconds); replacement is manual: run `clusterctl failover \(spec.name) \(kind.rawValue) \(name)`")
                        continue
                    }
                    if let running = ledger.replacing {
                        if waiting.insert(name).inserted {
                            emit(name, .progress, "lost for \((time.now - detected).formattedSeconds); its replacement waits until the \(running.playbook.rawValue) playbook for \(running.node ?? "?") ends: one replacement at a time, as etcd adds one learner at a time")
                        }
                        continue
                    }
                    let command = "clusterctl watch \(spec.name): failover \(kind.rawValue) \(name)"
                    do throws(ClusterError) {
                        try lease.enter(as: command)
                    } catch {
                        emit(name, .skipped, "not running \(kind.rawValue): \(error.message); will try again")
                        continue
                    }
                    nodes[name]?.replacementHandled = true
                    let queued = waiting.remove(name) != nil
                    emit(name, .started, "running the \(kind.rawValue) playbook for \(name) in the background\(queued ? ", now that the previous replacement has ended" : "")")
                    ledger.replacementStarted(kind, node: name, at: time.now - start)
                    group.addTask {
                        defer { lease.leave() }
                        await replace(kind, node: name, ledger: ledger, emit: emit, start: start)
                    }
                }
                waiting.formIntersection(due.map { $0.0 })
                metrics.replacements(running: ledger.replacing != nil, queued: waiting.count)
                // The last pause ends with the watch, so `--for` stops a replacement on time.
                let left = duration.map { $0 - (time.now - start) } ?? options.probeInterval
                try await time.sleep(for: max(.zero, min(options.probeInterval, left)))
            }
            // The watch is over: a replacement still running is stopped, and awaited as the group
            // closes; one still waiting its turn is named, as it was never started.
            for name in waiting.sorted() {
                let kind = PlaybookKind.replacing(nodes[name]?.machine.identity.role ?? .worker)
                ledger.notStarted("\(kind.rawValue) \(name)")
                emit(name, .skipped, "not replaced: the watch ended while its replacement waited its turn; run `clusterctl failover \(spec.name) \(kind.rawValue) \(name)`")
            }
            group.cancelAll()
        }
        metrics.replacements(running: false, queued: 0)
        return ledger.report
    }

    /// Runs a replacement playbook to its end, or until the watch cancels it, and records how it ended.
    private func replace(_ kind: PlaybookKind, node: String, ledger: WatcherLedger, emit: Emit, start: Duration) async {
        let time = backend.time
        let events = events
        let playbook = FailoverPlaybook(kind, node: node, spec: spec, backend: backend, options: options.playbook) { event in
            if event.kind == .started, let action = event.action { ledger.replacementEntered(action) }
            events(event)
        }
        let report: PlaybookReport?
        do {
            let finished = try await playbook.run()
            // A step that gave up because the watch was cancelling it did not fail on its own.
            report = Task.isCancelled && !finished.succeeded ? nil : finished
        } catch {
            // run() throws only when cancelled.
            report = nil
        }
        let ended = time.now - start
        guard let run = ledger.replacementEnded(report, at: ended) else { return }
        if let report {
            metrics.playbookFinished(succeeded: report.succeeded)
            return
        }
        metrics.playbookCancelled()
        emit(
            node, .failed,
            "stopped the \(kind.rawValue) playbook for \(node)\(run.cancelledAt.map { " at \($0.rawValue)" } ?? "") after \((ended - run.started).formattedSeconds): the watch ended first; run `clusterctl failover \(spec.name) \(kind.rawValue) \(node)` to finish the job (it carries on from what exists)"
        )
    }

    /// Every machine of the cluster: one list call per provider. An unreadable provider lists nothing this time.
    private func listMachines() async -> [ObservedMachine] {
        var machines: [ObservedMachine] = []
        for provider in spec.providers {
            if let list = try? await backend.provisioner(provider.name).listMachines(cluster: spec.name) { machines += list }
        }
        return machines
    }

    /// Whether each machine's Talos API answers (a provider-side failed or stopped machine does not).
    private func probe(_ machines: [ObservedMachine]) async -> [String: Bool] {
        await withTaskGroup(of: (String, Bool).self) { group in
            for machine in machines {
                group.addTask {
                    guard machine.phase == .running else { return (machine.identity.node, false) }
                    let stage = (try? await backend.talos.status(of: machine))?.stage
                    return (machine.identity.node, stage == .running)
                }
            }
            var alive: [String: Bool] = [:]
            for await (node, answers) in group { alive[node] = answers }
            return alive
        }
    }

    private func holdsIngress(_ machine: ObservedMachine) async throws -> Bool {
        let target = try? await NodeOperations(spec: spec, backend: backend, retry: options.playbook.retry).ingressTarget()
        return target == machine.providerID
    }

    /// Moves the ingress IP off a lost holder, in the loop itself: it takes seconds, and nothing
    /// else should be decided while the IP points at a dead node.
    ///
    /// The IP has two writers while a replacement runs: this move, and the replacement's own
    /// claim (``NodeOperations/claimIngress(for:running:)``: a new node of a candidate pool takes
    /// the IP when it points nowhere, or at a machine that was not running when the replacement
    /// looked). The rule that keeps them from taking turns: each writes only to take the IP off a
    /// dead machine, and each write ends the other's reason to write. This move runs only while
    /// the IP points at a machine the watcher saw lost, and puts it on a healthy, running
    /// candidate, which the claim then leaves alone; a claim puts it on the replacement, which is
    /// not a machine the watcher saw lost, so the watcher does not move it again. A claim that
    /// lands between this move's assignment and its check makes the check refuse, and the next
    /// round finds the IP already off the lost node. (The one way the claim can still override a
    /// move: the candidate it went to was stopped when the replacement looked and started since.)
    ///
    /// Joins the watcher's lease: its own running replacement must not keep the IP on a dead node.
    private func moveIngress(lease: WatcherLease, ledger: WatcherLedger, emit: Emit, start: Duration) async throws -> PlaybookReport? {
        let kind = PlaybookKind.ingressIP
        do {
            try lease.enter(as: "clusterctl watch \(spec.name): failover \(kind.rawValue)")
        } catch {
            emit(nil, .skipped, "not running \(kind.rawValue): \(error.message); will try again")
            return nil
        }
        defer { lease.leave() }
        let time = backend.time
        let began = time.now - start
        emit(nil, .started, "running the \(kind.rawValue) playbook")
        let report = try await FailoverPlaybook(kind, node: nil, spec: spec, backend: backend, options: options.playbook, events: events).run()
        metrics.playbookFinished(succeeded: report.succeeded)
        ledger.finished(report, started: began, ended: time.now - start)
        return report
    }
}
