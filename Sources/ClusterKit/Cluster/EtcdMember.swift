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

    /// Whether this is the member of `node`, whose machine has `addresses`: by its name, or, for
    /// a member with no name yet (added as a learner, its etcd never started), by the address in
    /// its peer URL (Talos advertises `https://<node IP>:2380`).
    public func belongs(to node: String, addresses: [String]) -> Bool {
        if !hostname.isEmpty { return hostname == node }
        return peerURLs.contains { url in
            guard let host = Self.host(of: url) else { return false }
            return addresses.contains(host)
        }
    }

    /// The host of a `scheme://host:port` URL, IPv6 brackets removed.
    private static func host(of url: String) -> String? {
        guard let schemeEnd = url.firstRange(of: "://") else { return nil }
        var rest = url[schemeEnd.upperBound...]
        if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
        if rest.hasPrefix("["), let close = rest.firstIndex(of: "]") { return String(rest[rest.index(after: rest.startIndex)..<close]) }
        return String(rest.split(separator: ":", maxSplits: 1).first ?? rest)
    }

    /// How many of `voters` voting members etcd needs to agree: (n/2)+1 (etcd FAQ, "What is
    /// failure tolerance?"; ../shared/reference/FAILOVER-FACTS.md section 2).
    public static func quorum(ofVoters voters: Int) -> Int { voters / 2 + 1 }
}
