/// Something a playbook did, as it happens: structured, for live progress and `-o json` lines.
public struct PlaybookEvent: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable {
        case started, progress, retrying, succeeded, failed, skipped
    }

    /// Time since the playbook started (virtual under the simulator).
    public var elapsed: Duration
    /// The step this belongs to; nil for the playbook's own start and end.
    public var action: PlaybookStep.Action?
    public var node: String?
    public var kind: Kind
    public var message: String

    public init(elapsed: Duration, action: PlaybookStep.Action?, node: String?, kind: Kind, message: String) {
        self.elapsed = elapsed
        self.action = action
        self.node = node
        self.kind = kind
        self.message = message
    }
}

/// Receives playbook events as they happen; must be cheap and must not block.
public typealias PlaybookEventSink = @Sendable (PlaybookEvent) -> Void
