/// Watches a cluster and runs the failover playbooks: the long-running side of `clusterctl watch`.
///
/// Every ``Options/probeInterval`` it asks each node's Talos API whether it runs; every
/// ``Options/listInterval`` it lists the machines, one call per provider whatever the number of
/// nodes (Hetzner allows 3600 requests an hour; a list every 10 s spends a tenth of that). A node
/// silent on ``Options/missesToDetect`` probes in a row is lost: detection within 5-15 s, well
/// before Kubernetes marks it NotReady (40-55 s, FAILOVER-FACTS.md section 3). When the lost node
/// holds the ingress floating IP, the IP moves at once. After `failover.replacement.nodeLostAfter`
/// the replacement playbook runs when `replacement.mode` is automatic; when it is manual the
/// watcher only says what it would run. Before any playbook it takes the cluster's lock, so it
/// does nothing while a drill or another command holds it.
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

    /// What a watch did, for tests, drills and `--for` runs.
    public struct Report: Sendable {
        public var detections: [Detection]
        public var playbooks: [PlaybookReport]
        /// Playbooks the manual mode would have run: `controlplane-lost home-cp-2`.
        public var wouldRun: [String]
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

    /// Watches until `duration` has passed (nil: until cancelled).
    public func run(for duration: Duration? = nil) async throws -> Report {
        let time = backend.time
        let start = time.now
        var report = Report(detections: [], playbooks: [], wouldRun: [])
        var nodes: [String: NodeWatch] = [:]
        var lastList: Duration?
        let replacement = spec.failover?.replacement ?? ReplacementPolicy(mode: .manual, nodeLostAfter: .seconds(600))
        func emit(_ node: String?, _ kind: PlaybookEvent.Kind, _ message: String) {
            events(PlaybookEvent(elapsed: time.now - start, action: nil, node: node, kind: kind, message: message))
        }
        emit(nil, .started, "watching \(spec.name): Talos probes every \(options.probeInterval.formattedSeconds), machine list every \(options.listInterval.formattedSeconds), replacement \(replacement.mode.rawValue) after \(replacement.nodeLostAfter.formattedSeconds)")
        while duration.map({ time.now - start < $0 }) ?? true {
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
            let probed = await probe(nodes.values.map(\.machine))
            for (name, alive) in probed {
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
                        report.detections.append(detection)
                        metrics.detected(after: detection.detected - detection.firstMiss)
                        emit(name, .failed, "lost: \(watch.misses) Talos probes unanswered\(watch.machine.phase != .running ? ", provider reports it \(watch.machine.phase.rawValue)" : "")")
                    }
                }
                nodes[name] = watch
            }
            metrics.nodes(seen: nodes.values.filter(\.seenAlive).count, lost: nodes.values.filter { $0.detected != nil }.count)
            for name in nodes.keys.sorted() {
                guard let watch = nodes[name], let detected = watch.detected else { continue }
                if !watch.ingressHandled {
                    nodes[name]?.ingressHandled = true
                    if spec.failover?.ingressIP != nil, try await holdsIngress(watch.machine) {
                        let outcome = try await runPlaybook(.ingressIP, node: nil, emit: emit)
                        if let outcome { report.playbooks.append(outcome) }
                        // Locked out, or no candidate yet: try again on the next round.
                        if outcome?.succeeded != true { nodes[name]?.ingressHandled = false }
                    }
                }
                if !watch.replacementHandled, time.now - detected >= replacement.nodeLostAfter {
                    nodes[name]?.replacementHandled = true
                    let kind: PlaybookKind = watch.machine.identity.role == .controlPlane ? .controlPlaneLost : .workerLost
                    switch replacement.mode {
                    case .automatic:
                        if let outcome = try await runPlaybook(kind, node: name, emit: emit) {
                            report.playbooks.append(outcome)
                            if outcome.outcome == .refused || outcome.outcome == .failed { nodes[name]?.replacementHandled = false }
                        } else {
                            nodes[name]?.replacementHandled = false
                        }
                    case .manual:
                        report.wouldRun.append("\(kind.rawValue) \(name)")
                        emit(name, .skipped, "lost for \((time.now - detected).formattedSeconds); replacement is manual: run `clusterctl failover \(spec.name) \(kind.rawValue) \(name)`")
                    }
                }
            }
            try await time.sleep(for: options.probeInterval)
        }
        return report
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

    /// Runs one playbook under the cluster's lock; nil (and an event) when someone else holds it.
    private func runPlaybook(_ kind: PlaybookKind, node: String?, emit: (String?, PlaybookEvent.Kind, String) -> Void) async throws -> PlaybookReport? {
        var lease: (any ClusterLockLease)?
        if let lock {
            do {
                lease = try lock.acquire(as: .current(command: "clusterctl watch \(spec.name): failover \(kind.rawValue)\(node.map { " \($0)" } ?? "")"))
            } catch {
                emit(node, .skipped, "not running \(kind.rawValue): \(error.message); will try again")
                return nil
            }
        }
        defer { lease?.release() }
        emit(node, .started, "running the \(kind.rawValue) playbook\(node.map { " for \($0)" } ?? "")")
        let report = try await FailoverPlaybook(kind, node: node, spec: spec, backend: backend, options: options.playbook, events: events).run()
        metrics.playbookFinished(succeeded: report.succeeded)
        return report
    }
}
