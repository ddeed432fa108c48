/// Detects and repairs a drill's fault: the seam the failover playbooks plug into
/// (``FailoverDrillRepair``).
///
/// The runner starts it right after the fault and cancels it when a stop condition trips; it
/// then calls it again with `urgent: true`, which must repair at once (no waiting out
/// `nodeLostAfter`, no manual-mode stop: the drill broke the node, so putting it back is always
/// wanted).
public protocol DrillRepair: Sendable {
    func repair(_ fault: DrillFault, urgent: Bool) async throws -> DrillRepairResult
}

/// What a repair did: when it noticed the fault, and its steps.
public struct DrillRepairResult: Sendable, Hashable {
    /// When the repair first saw the fault, on the backend's clock; nil if it never looked.
    public var detectedAt: Duration?
    /// When the repair saw the service back (the playbook's own measure: the replacement healthy,
    /// the ingress IP answering at its new holder), on the backend's clock; nil if it did not say.
    public var recoveredAt: Duration?
    /// Steps with times in seconds since the drill started (``DrillFault/drillStart``).
    public var steps: [DrillReport.Step]

    public init(detectedAt: Duration?, recoveredAt: Duration? = nil, steps: [DrillReport.Step]) {
        self.detectedAt = detectedAt
        self.recoveredAt = recoveredAt
        self.steps = steps
    }
}
