import Synchronization

/// What a watch has done so far, shared by its loop and the replacement it runs in the background.
///
/// A playbook is written down the moment it ends, on the watcher's clock, so
/// ``FailoverWatcher/Report/playbooks`` lists playbooks in the order they ended whichever task ran
/// them. Under the simulator every task runs on one ``SimulationRunLoop`` in a fixed order, so the
/// same seed gives the same report.
final class WatcherLedger: Sendable {
    private struct State {
        var report = FailoverWatcher.Report(detections: [], playbooks: [], wouldRun: [], runs: [])
        /// The replacement running in the background, and the step it is in.
        var replacing: FailoverWatcher.PlaybookRun?
        var step: PlaybookStep.Action?
        /// Replacements that ended since the loop last looked: the node and the outcome (nil: cancelled).
        var ended: [(node: String, outcome: PlaybookReport.Outcome?)] = []
    }

    private let state = Mutex(State())

    var report: FailoverWatcher.Report { state.withLock { $0.report } }

    /// The replacement running now, if any.
    var replacing: FailoverWatcher.PlaybookRun? { state.withLock { $0.replacing } }

    func detected(_ detection: FailoverWatcher.Detection) {
        state.withLock { $0.report.detections.append(detection) }
    }

    func wouldRun(_ command: String) {
        state.withLock { $0.report.wouldRun.append(command) }
    }

    func notStarted(_ command: String) {
        state.withLock { $0.report.notStarted.append(command) }
    }

    /// A playbook the loop ran itself (the ingress move) ended.
    func finished(_ playbook: PlaybookReport, started: Duration, ended: Duration) {
        state.withLock {
            $0.report.playbooks.append(playbook)
            $0.report.runs.append(.init(playbook: playbook.playbook, node: playbook.node, started: started, ended: ended, outcome: playbook.outcome))
        }
    }

    func replacementStarted(_ kind: PlaybookKind, node: String, at started: Duration) {
        state.withLock {
            $0.replacing = .init(playbook: kind, node: node, started: started, ended: started, outcome: nil)
            $0.step = nil
        }
    }

    func replacementEntered(_ step: PlaybookStep.Action) {
        state.withLock { $0.step = step }
    }

    /// The background replacement ended: `playbook` is its report, nil when it was cancelled.
    /// Returns the run as recorded.
    @discardableResult
    func replacementEnded(_ playbook: PlaybookReport?, at ended: Duration) -> FailoverWatcher.PlaybookRun? {
        state.withLock { state in
            guard var run = state.replacing else { return nil }
            run.ended = ended
            run.outcome = playbook?.outcome
            run.cancelledAt = playbook == nil ? state.step : nil
            if let playbook { state.report.playbooks.append(playbook) }
            state.report.runs.append(run)
            state.ended.append((run.node ?? "", run.outcome))
            state.replacing = nil
            state.step = nil
            return run
        }
    }

    /// The replacements that ended since the last call, for the loop to decide what comes next.
    func takeEnded() -> [(node: String, outcome: PlaybookReport.Outcome?)] {
        state.withLock { state in
            defer { state.ended = [] }
            return state.ended
        }
    }
}
