/// Something a drill did, as it happens: the guards passing, the power cut, detection, the wait
/// for `nodeLostAfter`, each step of the repairing playbook, the stop conditions, steady state.
/// A drill on real machines runs for many minutes, most of them waiting; these say what for.
public struct DrillEvent: Sendable, Hashable {
    /// Time since the drill started (virtual under the simulator).
    public var elapsed: Duration
    /// The drill's step (`guards`, `inject`, `detect`, `wait`, `abort`, `verify`) or the
    /// playbook's action while one repairs.
    public var step: String
    public var node: String?
    public var kind: PlaybookEvent.Kind
    public var message: String

    public init(elapsed: Duration, step: String, node: String?, kind: PlaybookEvent.Kind, message: String) {
        self.elapsed = elapsed
        self.step = step
        self.node = node
        self.kind = kind
        self.message = message
    }

    /// A step of the drill's report, announced as it ends, `elapsed` into the drill.
    public init(ended step: DrillReport.Step, at elapsed: Duration, node: String?) {
        self.init(elapsed: elapsed, step: step.name, node: node, kind: step.passed ? .succeeded : .failed, message: step.detail)
    }
}

/// Receives drill events as they happen; must be cheap and must not block.
public typealias DrillEventSink = @Sendable (DrillEvent) -> Void
