import ClusterKit
import ClusterTestSupport
import Provisioners
import Testing

/// A lock someone else holds: a drill, or another command.
struct HeldElsewhere: ClusterLock {
    func acquire(as holder: ClusterLockHolder) throws(ClusterError) -> any ClusterLockLease {
        throw ClusterError(.refused, "the cluster is locked by a drill")
    }
}

/// `clusterctl watch` on the simulator: detection time, the immediate ingress move, the
/// replacement after `nodeLostAfter`, manual mode, and the lock.
@Suite struct FailoverWatcherTests {
    static func spec(mode: ReplacementPolicy.Mode, lostAfter: Duration) throws -> ClusterSpec {
        var spec = try SimulatedRun.failoverSpec()
        spec.failover?.replacement = ReplacementPolicy(mode: mode, nodeLostAfter: lostAfter)
        return spec
    }

    func watch(_ run: SimulatedRun, for duration: Duration, losing node: String, at time: Duration, lock: (any ClusterLock)? = nil, metrics: WatcherMetrics = WatcherMetrics())
        throws -> FailoverWatcher.Report
    {
        let watcher = FailoverWatcher(spec: run.spec, backend: run.backend, lock: lock, metrics: metrics)
        let world = run.world
        return try SimulationRunLoop(clock: world.clock).run {
            try await world.losing(node, after: time) { try await watcher.run(for: duration) }
        }
    }

    @Test func aLostIngressHolderIsDetectedWithin15sAndTheIPMovesAtOnce() throws {
        let run = SimulatedRun(spec: try Self.spec(mode: .automatic, lostAfter: .seconds(600)))
        run.expectConverged(try run.up())
        let metrics = WatcherMetrics(wallClock: { 1_800_000_000 })
        let report = try watch(run, for: .seconds(120), losing: "home-cp-1", at: .seconds(30), metrics: metrics)
        let detection = try #require(report.detections.first)
        #expect(report.detections.map(\.node) == ["home-cp-1"])
        #expect(detection.detected - .seconds(30) <= .seconds(15), "detected \(detection.detected) after a loss at 30s")
        #expect(report.playbooks.map(\.playbook) == [.ingressIP])
        #expect(report.playbooks.first?.outcome == .completed)
        #expect(report.playbooks.first?.ingressHolder == "home-cp-2")
        // Within nodeLostAfter nothing is replaced.
        #expect(run.history("home-cp-1") == [false])
        let text = metrics.prometheusText(cluster: "home")
        #expect(text.contains("clusterctl_watch_detections_total{cluster=\"home\"} 1"), "\(text)")
        #expect(text.contains("clusterctl_watch_last_playbook_success{cluster=\"home\"} 1"))
        #expect(text.contains("clusterctl_watch_last_detection_timestamp_seconds{cluster=\"home\"} 1800000000"))
        #expect(text.contains("# TYPE clusterctl_watch_playbooks_total counter"))
    }

    @Test func aLostWorkerIsReplacedAfterNodeLostAfterWhenAutomatic() throws {
        let run = SimulatedRun(spec: try Self.spec(mode: .automatic, lostAfter: .seconds(60)))
        run.expectConverged(try run.up())
        let report = try watch(run, for: .seconds(900), losing: "home-workers-1", at: .seconds(10))
        #expect(report.detections.map(\.node) == ["home-workers-1"])
        let replaced = try #require(report.playbooks.first { $0.playbook == .workerLost })
        #expect(replaced.outcome == .completed, "\(replaced.reason ?? "")")
        #expect(run.history("home-workers-1") == [true, false])
        // Detected once: the replacement is a new machine, watched afresh.
        #expect(report.detections.count == 1)
    }

    @Test func manualModeOnlySaysWhatItWouldRun() throws {
        let run = SimulatedRun(spec: try Self.spec(mode: .manual, lostAfter: .seconds(60)))
        run.expectConverged(try run.up())
        let report = try watch(run, for: .seconds(300), losing: "home-workers-2", at: .seconds(10))
        #expect(report.wouldRun == ["worker-lost home-workers-2"])
        #expect(report.playbooks.isEmpty)
        #expect(run.history("home-workers-2") == [false])
    }

    @Test func nothingRunsWhileSomeoneElseHoldsTheLock() throws {
        let run = SimulatedRun(spec: try Self.spec(mode: .automatic, lostAfter: .seconds(30)))
        run.expectConverged(try run.up())
        let report = try watch(run, for: .seconds(300), losing: "home-cp-1", at: .seconds(10), lock: HeldElsewhere())
        #expect(report.detections.map(\.node) == ["home-cp-1"])
        #expect(report.playbooks.isEmpty)
        #expect(run.history("home-cp-1") == [false])
    }
}
