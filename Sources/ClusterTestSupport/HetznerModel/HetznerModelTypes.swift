/// A request the model answered, for exact-sequence assertions and validation against the
/// OpenAPI document.
public struct HetznerRecordedRequest: Sendable, Hashable, Codable {
    public var method: String
    public var path: String
    /// Query items in order, as `[name, value]` pairs.
    public var query: [[String]]
    /// The request body as text (user data included: tests only), nil when empty.
    public var body: String?
    public var status: Int
    /// The response body as text.
    public var response: String

    public init(method: String, path: String, query: [[String]], body: String?, status: Int, response: String) {
        self.method = method
        self.path = path
        self.query = query
        self.body = body
        self.status = status
        self.response = response
    }

    /// `GET /servers?label_selector=...`-style one-line summary for sequence assertions.
    public var line: String {
        let queryText = query.isEmpty ? "" : "?" + query.map { "\($0[0])=\($0[1])" }.joined(separator: "&")
        return "\(method) \(path)\(queryText)"
    }
}

/// A fault the model injects into matching requests, before it does any work.
public enum HetznerFault: Sendable, Hashable {
    /// Answer with this status and an error body of this code, changing nothing.
    case status(Int, code: String)
    /// `429 rate_limit_exceeded` with `RateLimit-Remaining: 0`.
    case rateLimited
    /// Close the connection without answering (a reset to the client).
    case dropConnection
    /// Do the work, then answer this status anyway: the client cannot know it succeeded.
    case commitThenStatus(Int)
}

/// A server as the model holds it.
public struct HetznerModelServer: Sendable, Hashable {
    public var id: Int
    public var name: String
    public var status: String
    public var labels: [String: String]
    public var serverType: String
    public var location: String
    public var imageID: Int?
    public var publicIPv4: String?
    public var publicIPv6: String?
    public var privateNet: [(network: Int, ip: String)]
    public var rescueEnabled: Bool
    public var placementGroup: Int?
    public var firewalls: [Int]
    public var userData: String?
    public var created: Duration

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.id == rhs.id && lhs.status == rhs.status && lhs.labels == rhs.labels }
    public func hash(into hasher: inout Hasher) { hasher.combine(id) }
}

struct HetznerModelAction: Sendable {
    enum Effect: Sendable {
        case none
        case serverStatus(Int, String)
        case attachNetwork(server: Int, network: Int, ip: String)
        case enableRescue(Int)
        case deleteServer(Int)
        case imageAvailable(Int)
    }
    var id: Int
    var command: String
    var started: Duration
    var duration: Duration
    var resources: [(id: Int, type: String)]
    var effect: Effect
    var failure: (code: String, message: String)?
    var applied = false

    func status(at now: Duration) -> String {
        guard now >= started + duration else { return "running" }
        return failure == nil ? "success" : "error"
    }
}

struct HetznerModelImage: Sendable {
    var id: Int
    var type: String
    var status: String
    var name: String?
    var description: String
    var labels: [String: String]
    var architecture: String
    var created: Duration
    var createdFrom: Int?
}

struct HetznerModelResource: Sendable {
    var id: Int
    var name: String
    var labels: [String: String]
    var created: Duration
    /// Network: ip_range; floating IP: address; SSH key: public key; placement group: type.
    var detail: String = ""
    var subnets: [(ipRange: String, zone: String)] = []
    var server: Int?
    var homeLocation: String = ""
    var rules: [(direction: String, proto: String, port: String?, sourceIPs: [String], description: String?)] = []

    init(id: Int, name: String, labels: [String: String], created: Duration) {
        self.id = id
        self.name = name
        self.labels = labels
        self.created = created
    }
}
