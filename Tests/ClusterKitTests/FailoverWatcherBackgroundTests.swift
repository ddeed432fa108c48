import ClusterKit
import ClusterTestSupport
import Provisioners
import Synchronization
import Testing

/// A lock that behaves as the CLI's flock does: one lease at a time, whoever asks, the same
/// process included. Counts what it handed out.
final class ExclusiveLock: ClusterLock {
    private let state = Mutex((held: false, acquired: 0, refused: 0))

    func acquire(as holder: ClusterLockHolder) throws(ClusterError) -> any ClusterLockLease {
        let taken = state.withLock { state in
            if state.held {
                state.refused += 1
                return false
            }
            state.held = true
            state.acquired += 1
            return true
        }
        guard taken else { throw ClusterError(.refused, "the cluster is locked") }
        return Lease(lock: self)
    }

    var held: Bool { state.withLock { $0.held } }
    var acquired: Int { state.withLock { $0.acquired } }

    fileprivate func release() { state.withLock { $0.held = false } }

    final class Lease: ClusterLockLease {
        let lock: ExclusiveLock
        private let released = Mutex(false)
        init(lock: ExclusiveLock) { self.lock = lock }
        func release() {
            if released.withLock({ was in defer { was = true }; return !was }) { lock.release() }
        }
    }
}

/// The watcher running replacements in the background: the loop keeps probing, the ingress IP
/// moves at once whatever runs, replacements take turns, and the end of a watch stops one cleanly.
@Suite struct FailoverWatcherBackgroundTests {
    /// The user's spec with the ingress IP on a pool of two Hetzner workers (an ingress
    /// controller's nodes), so losing its holder leaves etcd alone.
    static func ingressOnWorkersSpec(lostAfter: Duration) throws -> ClusterSpec {
        var spec = try FailoverWatcherTests.spec(mode: .automatic, lostAfter: lostAfter)
        spec.pools.append(PoolSpec(name: "ingress", role: .worker, provider: "hcloud", count: 2, size: MachineSize(serverType: "cx22"), locations: ["fsn1"]))
        spec.failover?.ingressIP?.candidatePools = ["ingress"]
        return spec
    }

    /// Watches for `duration` while losing each node of `losses` at its time; `react` sees every event first.
    func watch(
        _ run: SimulatedRun, for duration: Duration, losing losses: [(String, Duration)], lock: (any ClusterLock)? = nil,
        metrics: WatcherMetrics = WatcherMetrics(), events: PlaybookEventRecorder = PlaybookEventRecorder(), react: @escaping @Sendable (PlaybookEvent) -> Void = { _ in }
    ) throws -> FailoverWatcher.Report {
        let sink = events.sink
        let watcher = FailoverWatcher(spec: run.spec, backend: run.backend, lock: lock, metrics: metrics) { event in
            react(event)
            sink(event)
        }
        let world = run.world
        return try SimulationRunLoop(clock: world.clock).run {
            var body: @Sendable () async throws -> FailoverWatcher.Report = { try await watcher.run(for: duration) }
            for (node, at) in losses {
                let inner = body
                body = { try await world.losing(node, after: at, during: inner) }
            }
            return try await body()
        }
    }

    @Test func aLostIngressHolderMovesAtOnceWhileAControlPlaneIsReplaced() throws {
        let run = SimulatedRun(spec: try Self.ingressOnWorkersSpec(lostAfter: .seconds(30)))
        run.expectConverged(try run.up())
        let lock = ExclusiveLock()
        let world = run.world
        let start = world.clock.now
        // The ingress holder dies once the control plane's replacement is creating its machine;
        // at that moment another process (a drill, `up`) asks for the lock too.
        let lostAt = SharedBox<Duration?>(nil)
        let outsiderRefused = SharedBox<Bool?>(nil)
        let events = PlaybookEventRecorder()
        let report = try watch(run, for: .seconds(1200), losing: [("home-cp-2", .seconds(10))], lock: lock, events: events) { event in
            guard event.action == .createReplacement, event.kind == .started, event.node == "home-cp-2", lostAt.value == nil else { return }
            world.lose("home-ingress-1")
            lostAt.value = world.clock.now - start
            outsiderRefused.value = (try? lock.acquire(as: .current(command: "clusterctl up home"))) == nil
        }
        let lost = try #require(lostAt.value)
        #expect(outsiderRefused.value == true, "another process is locked out while the replacement runs")
        #expect(report.detections.map(\.node) == ["home-cp-2", "home-ingress-1"])

        let replacement = try #require(report.runs.first { $0.playbook == .controlPlaneLost })
        let move = try #require(report.runs.first { $0.playbook == .ingressIP })
        let moved = try #require(report.playbooks.first { $0.playbook == .ingressIP })
        let detection = try #require(report.detections.first { $0.node == "home-ingress-1" })
        #expect(replacement.started < lost && lost < replacement.ended, "the holder was lost while the replacement ran")
        #expect(detection.detected - lost <= .seconds(15), "detected \(detection.detected) after a loss at \(lost)")
        // Moved in the round that detected the loss, under the replacement's hold on the lock.
        #expect(move.started - detection.detected < FailoverWatcher.Options().probeInterval, "\(move) after \(detection)")
        #expect(moved.outcome == .completed, "\(moved.reason ?? "")")
        #expect(moved.ingressHolder == "home-ingress-2")
        #expect(move.ended - lost <= .seconds(15) + moved.elapsed, "the IP answered \(move.ended - lost) after the loss")
        #expect(move.ended < replacement.ended, "the IP moved before the replacement ended, not after it")

        // The replacement still completes; the lost holder's own replacement waits its turn.
        #expect(replacement.outcome == .completed, "\(report.playbooks.first { $0.playbook == .controlPlaneLost }?.reason ?? "")")
        #expect(run.history("home-cp-2") == [true, false])
        let worker = try #require(report.runs.first { $0.playbook == .workerLost })
        #expect(worker.node == "home-ingress-1" && worker.started >= replacement.ended, "\(worker)")
        #expect(worker.outcome == .completed, "\(report.playbooks.first { $0.playbook == .workerLost }?.reason ?? "")")
        #expect(events.events.contains { $0.node == "home-ingress-1" && $0.message.contains("waits until the controlplane-lost playbook for home-cp-2 ends") })
        #expect(report.playbooks.map(\.playbook) == [.ingressIP, .controlPlaneLost, .workerLost], "in the order they ended")
        #expect(report.cancelled.isEmpty)
        #expect(!lock.held, "the watcher gave the lock back")
    }

    @Test func twoLostNodesAreReplacedOneAfterTheOther() throws {
        let run = SimulatedRun(spec: try FailoverWatcherTests.spec(mode: .automatic, lostAfter: .seconds(30)))
        run.expectConverged(try run.up())
        let metrics = WatcherMetrics()
        let queued = SharedBox(0)
        let events = PlaybookEventRecorder()
        let report = try watch(run, for: .seconds(1200), losing: [("home-workers-1", .seconds(10)), ("home-workers-2", .seconds(20))], metrics: metrics, events: events) { event in
            // Scrape the way Prometheus would, while the watch runs.
            if metrics.prometheusText(cluster: "home").contains("clusterctl_watch_replacements_queued{cluster=\"home\"} 1") { queued.value += 1 }
        }
        #expect(report.detections.map(\.node) == ["home-workers-1", "home-workers-2"])
        let replacements = report.runs.filter { $0.playbook == .workerLost }
        #expect(replacements.map(\.node) == ["home-workers-1", "home-workers-2"])
        #expect(replacements.allSatisfy { $0.outcome == .completed }, "\(report.playbooks.map { "\($0.node ?? "") \($0.outcome): \($0.reason ?? "")" })")
        if replacements.count == 2 {
            #expect(replacements[1].started >= replacements[0].ended, "one at a time: \(replacements)")
            // The second started in the round after the first ended, not a while later.
            #expect(replacements[1].started - replacements[0].ended <= FailoverWatcher.Options().probeInterval, "\(replacements)")
        }
        #expect(events.events.contains { $0.node == "home-workers-2" && $0.message.contains("waits until the worker-lost playbook for home-workers-1 ends") })
        #expect(events.events.contains { $0.node == "home-workers-2" && $0.message.contains("now that the previous replacement has ended") })
        #expect(run.history("home-workers-1") == [true, false] && run.history("home-workers-2") == [true, false])
        #expect(queued.value > 0, "the queue showed in the metrics")
        let text = metrics.prometheusText(cluster: "home")
        #expect(text.contains("clusterctl_watch_replacements_queued{cluster=\"home\"} 0"), "\(text)")
        #expect(text.contains("clusterctl_watch_replacement_running{cluster=\"home\"} 0"))
        #expect(text.contains("clusterctl_watch_playbooks_total{cluster=\"home\"} 2"))
    }

    @Test func theEndOfTheWatchStopsARunningReplacementAndSaysSo() throws {
        let run = SimulatedRun(spec: try FailoverWatcherTests.spec(mode: .automatic, lostAfter: .seconds(30)))
        run.expectConverged(try run.up())
        let lock = ExclusiveLock()
        let metrics = WatcherMetrics()
        let events = PlaybookEventRecorder()
        // A control plane's replacement takes minutes: two are not enough. A worker lost meanwhile waits its turn.
        let report = try watch(run, for: .seconds(120), losing: [("home-cp-home-1", .seconds(10)), ("home-workers-1", .seconds(20))], lock: lock, metrics: metrics, events: events)
        #expect(report.notStarted == ["worker-lost home-workers-1"])
        #expect(events.events.contains { $0.node == "home-workers-1" && $0.message.hasPrefix("not replaced: the watch ended while its replacement waited its turn") })
        let stopped = try #require(report.cancelled.first)
        #expect(report.cancelled.count == 1)
        #expect(stopped.playbook == .controlPlaneLost && stopped.node == "home-cp-home-1")
        #expect(stopped.cancelledAt != nil, "names the step it reached")
        #expect(stopped.ended >= .seconds(120) && stopped.ended - .seconds(120) < .seconds(1), "stopped when the watch ended: \(stopped.ended)")
        #expect(!report.playbooks.contains { $0.playbook == .controlPlaneLost }, "no outcome is made up for it")
        let said = try #require(events.events.last { $0.node == "home-cp-home-1" && $0.kind == .failed })
        #expect(said.message.contains("stopped the controlplane-lost playbook for home-cp-home-1 at \(stopped.cancelledAt?.rawValue ?? "?")"), "\(said.message)")
        #expect(said.message.contains("clusterctl failover home controlplane-lost home-cp-home-1"))
        #expect(!lock.held, "the lock was given back")
        let text = metrics.prometheusText(cluster: "home")
        #expect(text.contains("clusterctl_watch_playbooks_cancelled_total{cluster=\"home\"} 1"), "\(text)")
        #expect(text.contains("clusterctl_watch_replacement_running{cluster=\"home\"} 0"))

        // Cleanly: running the playbook again finishes the job.
        let again = try run.failover(.controlPlaneLost, "home-cp-home-1")
        #expect(again.outcome == .completed, "\(again.reason ?? "")")
        #expect(run.liveNodes.contains("home-cp-home-1"))
    }

    @Test func theReplacementOfTheHolderLeavesTheMovedIPWhereTheWatcherPutIt() throws {
        let run = SimulatedRun(spec: try FailoverWatcherTests.spec(mode: .automatic, lostAfter: .seconds(30)))
        run.expectConverged(try run.up())
        let report = try watch(run, for: .seconds(600), losing: [("home-cp-1", .seconds(10))])
        #expect(report.playbooks.map(\.playbook) == [.ingressIP, .controlPlaneLost], "one move, no second one after the replacement")
        #expect(report.playbooks.allSatisfy { $0.succeeded }, "\(report.playbooks.map { $0.reason ?? "" })")
        #expect(report.playbooks.first?.ingressHolder == "home-cp-2")
        // The replacement is a candidate too, but the IP already answers at a running node: its claim leaves it.
        let operations = NodeOperations(spec: run.spec, backend: run.backend)
        let backend = run.backend
        let (target, machines) = try SimulationRunLoop(clock: run.world.clock).run {
            (try await operations.ingressTarget(), try await backend.provisioner("hcloud").listMachines(cluster: "home"))
        }
        let holder = machines.first { $0.identity.node == "home-cp-2" }
        #expect(target != nil && target == holder?.providerID, "\(target ?? "nowhere")")
    }

    @Test func theSameSeedGivesTheSameReport() throws {
        func once() throws -> (FailoverWatcher.Report, [PlaybookEvent]) {
            let run = SimulatedRun(spec: try Self.ingressOnWorkersSpec(lostAfter: .seconds(30)))
            run.expectConverged(try run.up())
            let events = PlaybookEventRecorder()
            let report = try watch(run, for: .seconds(400), losing: [("home-cp-2", .seconds(10)), ("home-ingress-1", .seconds(90))], events: events)
            return (report, events.events)
        }
        let (first, firstEvents) = try once()
        let (second, secondEvents) = try once()
        #expect(first.runs.count >= 2, "a replacement and the move ran: \(first.runs)")
        #expect(first.runs == second.runs)
        #expect(first.detections == second.detections)
        #expect(firstEvents == secondEvents)
    }
}
