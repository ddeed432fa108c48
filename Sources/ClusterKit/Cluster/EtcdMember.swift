/// One etcd member as `EtcdMemberList` reports it (machine.proto `EtcdMember`).
///
/// A learner that has not started yet has an empty hostname and no client URLs
/// (../shared/reference/talos/API-FACTS.md section 5).
public struct EtcdMember: Sendable, Hashable, Codable {
    /// etcd's member ID. talosctl prints it as `%016x`; Talos' error texts print it in decimal.
    public var id: UInt64
    /// The member's name: the node's hostname.
    public var hostname: String
    public var peerURLs: [String]
    public var clientURLs: [String]
    public var isLearner: Bool

    public init(id: UInt64, hostname: String, peerURLs: [String] = [], clientURLs: [String] = [], isLearner: Bool = false) {
        self.id = id
        self.hostname = hostname
        self.peerURLs = peerURLs
        self.clientURLs = clientURLs
        self.isLearner = isLearner
    }

    /// The ID as talosctl prints it.
    public var hexID: String {
        let digits = String(id, radix: 16)
        return String(repeating: "0", count: max(0, 16 - digits.count)) + digits
    }

    /// How many of `voters` voting members etcd needs to agree: (n/2)+1 (etcd FAQ, "What is
    /// failure tolerance?"; ../shared/reference/FAILOVER-FACTS.md section 2).
    public static func quorum(ofVoters voters: Int) -> Int { voters / 2 + 1 }
}
