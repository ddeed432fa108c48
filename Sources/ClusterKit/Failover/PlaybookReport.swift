/// What a failover playbook did: every step with its timing, the outcome, and the figures a drill
/// compares against its floor.
public struct PlaybookReport: Sendable, Codable {
    public enum Outcome: String, Sendable, Hashable, Codable {
        /// Every step done; the cluster is healthy.
        case completed
        /// Nothing needed doing (the node is healthy, the IP already answers at a healthy holder).
        case nothingToDo = "nothing-to-do"
        /// A guard stopped the playbook before it changed anything unsafe; ``PlaybookReport/reason`` says why.
        case refused
        /// A step failed; running the playbook again continues from what exists.
        case failed
    }

    /// One step as it ran.
    public struct StepRecord: Sendable, Codable, Hashable {
        public enum Outcome: String, Sendable, Hashable, Codable {
            case done
            /// Already done by an earlier (killed) run, so nothing was needed.
            case alreadyDone = "already-done"
            case failed
            case refused
        }

        public var step: PlaybookStep
        /// From the playbook's start, on its clock (virtual under the simulator).
        public var started: Duration
        public var ended: Duration
        public var outcome: Outcome
        public var message: String

        public init(step: PlaybookStep, started: Duration, ended: Duration, outcome: Outcome, message: String) {
            self.step = step
            self.started = started
            self.ended = ended
            self.outcome = outcome
            self.message = message
        }

        public var duration: Duration { ended - started }
    }

    public var playbook: PlaybookKind
    public var cluster: String
    public var node: String?
    public var outcome: Outcome
    /// Why the playbook refused or failed.
    public var reason: String?
    public var steps: [StepRecord]
    /// From the start until the node was confirmed lost (the playbook's own detection time).
    public var confirmedLostAfter: Duration?
    /// From the start until the cluster was healthy again with the replacement (the playbook's share of the RTO).
    public var recoveredAfter: Duration?
    /// From the floating IP's assignment to the first answer at its new holder.
    public var ingressReachableAfter: Duration?
    /// The node holding the ingress IP at the end, when the playbook moved or checked it.
    public var ingressHolder: String?
    public var elapsed: Duration

    public init(
        playbook: PlaybookKind, cluster: String, node: String?, outcome: Outcome, reason: String? = nil, steps: [StepRecord] = [],
        confirmedLostAfter: Duration? = nil, recoveredAfter: Duration? = nil, ingressReachableAfter: Duration? = nil, ingressHolder: String? = nil,
        elapsed: Duration = .zero
    ) {
        self.playbook = playbook
        self.cluster = cluster
        self.node = node
        self.outcome = outcome
        self.reason = reason
        self.steps = steps
        self.confirmedLostAfter = confirmedLostAfter
        self.recoveredAfter = recoveredAfter
        self.ingressReachableAfter = ingressReachableAfter
        self.ingressHolder = ingressHolder
        self.elapsed = elapsed
    }

    /// Completed, or nothing to do.
    public var succeeded: Bool { outcome == .completed || outcome == .nothingToDo }
}
