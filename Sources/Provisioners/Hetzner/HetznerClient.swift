public import ClusterKit
import Foundation
public import Logging

/// Typed calls to the Hetzner Cloud API over ``HTTPClient`` (which owns retries and the log).
///
/// Paths, parameters and bodies follow ../shared/reference/hetzner/cloud.spec.json. Every method
/// costs exactly the requests it names; list methods page with `per_page=50`, the documented
/// maximum (spec: "Pagination"), so a cluster of up to 50 servers is listed in one request.
public struct HetznerClient: Sendable {
    /// The public endpoint; `HCLOUD_ENDPOINT` replaces it, as in Hetzner's `hcloud` CLI.
    public static let defaultEndpoint = "https://api.hetzner.cloud/v1"

    public let http: HTTPClient
    public let endpoint: String
    private let token: String

    public init(token: String, endpoint: String = HetznerClient.defaultEndpoint, http: HTTPClient) {
        self.token = token
        self.endpoint = endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint
        var http = http
        http.errorDecoder = HetznerClient.decodeError
        self.http = http
    }

    /// Builds the client over libcurl.
    public init(
        token: String, endpoint: String = HetznerClient.defaultEndpoint, configuration: HTTPClientConfiguration = HTTPClientConfiguration(),
        time: any TimeSource = SystemTimeSource(), logger: Logger = Logger(label: "clusterctl.hetzner")
    ) {
        self.init(
            token: token, endpoint: endpoint,
            http: HTTPClient(transport: CurlHTTPTransport(configuration: configuration), retry: configuration.retry, time: time, logger: logger))
    }

    /// Turns `{"error": {"code", "message", "details"}}` into an ``HTTPError`` with the API code
    /// and field details. `conflict` ("please retry") and `locked` (an action is running) are
    /// transient per the spec's error table.
    @Sendable static func decodeError(_ request: HTTPRequest, _ response: HTTPResponse) -> HTTPError {
        let path = request.url.split(separator: "?").first.map(String.init) ?? request.url
        guard let body = try? JSONDecoder().decode(HetznerErrorBody.self, from: Data(response.body)) else {
            return HTTPError(code: .status, message: "\(request.method.rawValue) \(path): HTTP \(response.status)", status: response.status, response: response)
        }
        var fields: [String: [String]] = [:]
        for field in body.error.details?.fields ?? [] { fields[field.name, default: []] += field.messages ?? [] }
        var error = HTTPError(
            code: .status, message: body.error.message, status: response.status, apiCode: body.error.code, fieldErrors: fields,
            response: response)
        if body.error.code == "conflict" || body.error.code == "locked" || body.error.code == "rate_limit_exceeded" {
            error.transient = true
        }
        return error
    }

    // MARK: Requests

    func url(_ path: String, query: [(String, String)]) -> String {
        var components = URLComponents()
        components.queryItems = query.map { URLQueryItem(name: $0.0, value: $0.1) }
        // `URLComponents` leaves `=`, `,` and `!` alone; label selectors only need the rest encoded.
        let queryText = query.isEmpty ? "" : "?" + (components.percentEncodedQuery ?? "")
        return endpoint + path + queryText
    }

    /// One request to `path`; decodes the body as `T` when `T` is not `EmptyResponse`.
    func call<T: Decodable>(
        _ method: HTTPMethod, _ path: String, query: [(String, String)] = [], body: (any Encodable & Sendable)? = nil,
        as type: T.Type
    ) async throws -> T {
        var headers: [(name: String, value: String)] = [("Authorization", "Bearer \(token)"), ("Accept", "application/json")]
        var bytes: [UInt8]?
        if let body {
            bytes = try HTTPClient.jsonBody(body)
            headers.append(("Content-Type", "application/json"))
        }
        let request = HTTPRequest(method: method, url: url(path, query: query), headers: headers, body: bytes)
        let response = try await http.send(request)
        if T.self == HetznerEmpty.self, let empty = HetznerEmpty() as? T { return empty }
        return try HTTPClient.decode(T.self, from: response, request: request)
    }

    /// Every item across all pages.
    public func list<Item: HetznerListable>(_ type: Item.Type, path: String, query: [(String, String)] = []) async throws -> [Item] {
        var items: [Item] = []
        var page = 1
        while true {
            let result = try await call(
                .get, path, query: query + [("page", String(page)), ("per_page", "50")], as: HetznerPage<Item>.self)
            items += result.items
            guard let next = result.meta?.pagination?.nextPage, next > page else { return items }
            page = next
        }
    }

    // MARK: Servers

    public func servers(labelSelector: String) async throws -> [HetznerServer] {
        try await list(HetznerServer.self, path: "/servers", query: [("label_selector", labelSelector)])
    }

    public func servers(named name: String) async throws -> [HetznerServer] {
        try await list(HetznerServer.self, path: "/servers", query: [("name", name)])
    }

    public func server(id: Int) async throws -> HetznerServer {
        try await call(.get, "/servers/\(id)", as: ServerEnvelope.self).server
    }

    public func createServer(_ body: HetznerCreateServer) async throws -> HetznerCreatedServer {
        try await call(.post, "/servers", body: body, as: HetznerCreatedServer.self)
    }

    /// Deletes the server; nil when it was already gone (404).
    public func deleteServer(id: Int) async throws -> HetznerAction? {
        do {
            return try await call(.delete, "/servers/\(id)", as: ActionEnvelope.self).action
        } catch let error as HTTPError where error.status == 404 {
            return nil
        }
    }

    /// `poweron`, `poweroff`, `reset`, `shutdown`, `reboot` (spec: `/servers/{id}/actions/...`).
    public func serverAction(id: Int, _ command: String) async throws -> HetznerAction {
        try await call(.post, "/servers/\(id)/actions/\(command)", as: ActionEnvelope.self).action
    }

    public func enableRescue(id: Int, sshKeys: [Int]) async throws -> HetznerAction {
        try await call(.post, "/servers/\(id)/actions/enable_rescue", body: EnableRescue(type: "linux64", sshKeys: sshKeys), as: ActionEnvelope.self).action
    }

    public func createImage(serverID: Int, description: String, labels: [String: String]) async throws -> (HetznerImage, HetznerAction) {
        let result = try await call(
            .post, "/servers/\(serverID)/actions/create_image", body: CreateImage(description: description, type: "snapshot", labels: labels),
            as: CreatedImage.self)
        return (result.image, result.action)
    }

    // MARK: Actions

    /// Several actions in one request (`GET /actions?id=1&id=2`), at most 50 per call.
    public func actions(ids: [Int]) async throws -> [HetznerAction] {
        var result: [HetznerAction] = []
        for start in stride(from: 0, to: ids.count, by: 50) {
            let chunk = ids[start..<min(start + 50, ids.count)]
            result += try await call(.get, "/actions", query: chunk.map { ("id", String($0)) }, as: HetznerPage<HetznerAction>.self).items
        }
        return result
    }

    // MARK: Images, networks, firewalls, placement groups, floating IPs, SSH keys

    public func snapshots(labelSelector: String) async throws -> [HetznerImage] {
        try await list(HetznerImage.self, path: "/images", query: [("type", "snapshot"), ("label_selector", labelSelector)])
    }

    public func networks(named name: String) async throws -> [HetznerNetworkResource] {
        try await list(HetznerNetworkResource.self, path: "/networks", query: [("name", name)])
    }

    public func createNetwork(_ body: HetznerCreateNetwork) async throws -> HetznerNetworkResource {
        try await call(.post, "/networks", body: body, as: NetworkEnvelope.self).network
    }

    public func addSubnet(networkID: Int, _ subnet: HetznerCreateNetwork.Subnet) async throws -> HetznerAction {
        try await call(.post, "/networks/\(networkID)/actions/add_subnet", body: subnet, as: ActionEnvelope.self).action
    }

    public func firewalls(named name: String) async throws -> [HetznerFirewall] {
        try await list(HetznerFirewall.self, path: "/firewalls", query: [("name", name)])
    }

    public func createFirewall(_ body: HetznerCreateFirewall) async throws -> HetznerFirewall {
        try await call(.post, "/firewalls", body: body, as: FirewallEnvelope.self).firewall
    }

    public func placementGroups(named name: String) async throws -> [HetznerPlacementGroup] {
        try await list(HetznerPlacementGroup.self, path: "/placement_groups", query: [("name", name)])
    }

    public func createPlacementGroup(name: String, labels: [String: String]) async throws -> HetznerPlacementGroup {
        try await call(.post, "/placement_groups", body: CreatePlacementGroup(name: name, labels: labels, type: "spread"), as: PlacementGroupEnvelope.self)
            .placementGroup
    }

    public func floatingIPs(named name: String) async throws -> [HetznerFloatingIP] {
        try await list(HetznerFloatingIP.self, path: "/floating_ips", query: [("name", name)])
    }

    public func createFloatingIP(name: String, homeLocation: String, labels: [String: String]) async throws -> HetznerFloatingIP {
        try await call(
            .post, "/floating_ips", body: CreateFloatingIP(type: "ipv4", homeLocation: homeLocation, name: name, labels: labels),
            as: FloatingIPEnvelope.self
        ).floatingIP
    }

    public func assignFloatingIP(id: Int, server: Int) async throws -> HetznerAction {
        try await call(.post, "/floating_ips/\(id)/actions/assign", body: AssignFloatingIP(server: server), as: ActionEnvelope.self).action
    }

    public func createSSHKey(name: String, publicKey: String, labels: [String: String]) async throws -> HetznerSSHKey {
        try await call(.post, "/ssh_keys", body: CreateSSHKey(name: name, publicKey: publicKey, labels: labels), as: SSHKeyEnvelope.self).sshKey
    }

    /// Lists any labelled kind (`/networks`, `/firewalls`, ...) by label selector.
    public func list<Item: HetznerListable>(_ type: Item.Type, path: String, labelSelector: String) async throws -> [Item] {
        try await list(type, path: path, query: [("label_selector", labelSelector)])
    }

    /// `DELETE` on a resource path; a resource already gone (404) counts as deleted.
    public func delete(_ path: String) async throws {
        do {
            _ = try await call(.delete, path, as: HetznerEmpty.self)
        } catch let error as HTTPError where error.status == 404 {
            return
        }
    }
}

/// The decoded nothing of a `204 No Content`.
struct HetznerEmpty: Decodable { init() {} }

struct ServerEnvelope: Decodable { var server: HetznerServer }
struct ActionEnvelope: Decodable { var action: HetznerAction }
struct NetworkEnvelope: Decodable { var network: HetznerNetworkResource }
struct FirewallEnvelope: Decodable { var firewall: HetznerFirewall }
struct PlacementGroupEnvelope: Decodable {
    var placementGroup: HetznerPlacementGroup
    enum CodingKeys: String, CodingKey { case placementGroup = "placement_group" }
}
struct FloatingIPEnvelope: Decodable {
    var floatingIP: HetznerFloatingIP
    enum CodingKeys: String, CodingKey { case floatingIP = "floating_ip" }
}
struct SSHKeyEnvelope: Decodable {
    var sshKey: HetznerSSHKey
    enum CodingKeys: String, CodingKey { case sshKey = "ssh_key" }
}
struct CreatedImage: Decodable {
    var image: HetznerImage
    var action: HetznerAction
}

/// `POST /servers` answer: the server, its create action and follow-up actions (network attach).
public struct HetznerCreatedServer: Decodable, Sendable {
    public var server: HetznerServer
    public var action: HetznerAction
    public var nextActions: [HetznerAction]
    enum CodingKeys: String, CodingKey {
        case server, action
        case nextActions = "next_actions"
    }
}

/// `POST /servers` body (spec: CreateServerRequest).
public struct HetznerCreateServer: Encodable, Sendable, Hashable {
    public struct PublicNet: Encodable, Sendable, Hashable {
        public var enableIPv4: Bool
        public var enableIPv6: Bool
        enum CodingKeys: String, CodingKey {
            case enableIPv4 = "enable_ipv4"
            case enableIPv6 = "enable_ipv6"
        }
    }
    public struct FirewallRef: Encodable, Sendable, Hashable { public var firewall: Int }

    public var name: String
    public var serverType: String
    public var image: String
    public var location: String?
    public var startAfterCreate: Bool?
    public var placementGroup: Int?
    public var sshKeys: [String]?
    public var networks: [Int]?
    public var firewalls: [FirewallRef]?
    public var userData: String?
    public var labels: [String: String]
    public var publicNet: PublicNet?

    public init(
        name: String, serverType: String, image: String, location: String? = nil, startAfterCreate: Bool? = nil, placementGroup: Int? = nil,
        sshKeys: [String]? = nil, networks: [Int]? = nil, firewalls: [Int]? = nil, userData: String? = nil, labels: [String: String] = [:],
        publicNet: PublicNet? = nil
    ) {
        self.name = name
        self.serverType = serverType
        self.image = image
        self.location = location
        self.startAfterCreate = startAfterCreate
        self.placementGroup = placementGroup
        self.sshKeys = sshKeys
        self.networks = networks
        self.firewalls = firewalls.map { $0.map { FirewallRef(firewall: $0) } }
        self.userData = userData
        self.labels = labels
        self.publicNet = publicNet
    }

    enum CodingKeys: String, CodingKey {
        case name, image, location, networks, firewalls, labels
        case serverType = "server_type"
        case startAfterCreate = "start_after_create"
        case placementGroup = "placement_group"
        case sshKeys = "ssh_keys"
        case userData = "user_data"
        case publicNet = "public_net"
    }
}

/// `POST /networks` body.
public struct HetznerCreateNetwork: Encodable, Sendable, Hashable {
    public struct Subnet: Encodable, Sendable, Hashable {
        public var type: String
        public var ipRange: String
        public var networkZone: String

        public init(type: String, ipRange: String, networkZone: String) {
            self.type = type
            self.ipRange = ipRange
            self.networkZone = networkZone
        }

        enum CodingKeys: String, CodingKey {
            case type
            case ipRange = "ip_range"
            case networkZone = "network_zone"
        }
    }
    public var name: String
    public var ipRange: String
    public var subnets: [Subnet]
    public var labels: [String: String]

    public init(name: String, ipRange: String, subnets: [Subnet], labels: [String: String]) {
        self.name = name
        self.ipRange = ipRange
        self.subnets = subnets
        self.labels = labels
    }
    enum CodingKeys: String, CodingKey {
        case name, subnets, labels
        case ipRange = "ip_range"
    }
}

/// `POST /firewalls` body.
public struct HetznerCreateFirewall: Encodable, Sendable, Hashable {
    public struct Rule: Encodable, Sendable, Hashable {
        public var description: String
        public var direction: String
        public var `protocol`: String
        public var port: String?
        public var sourceIPs: [String]

        public init(description: String, direction: String, protocol: String, port: String?, sourceIPs: [String]) {
            self.description = description
            self.direction = direction
            self.protocol = `protocol`
            self.port = port
            self.sourceIPs = sourceIPs
        }

        enum CodingKeys: String, CodingKey {
            case description, direction, `protocol`, port
            case sourceIPs = "source_ips"
        }
    }
    public var name: String
    public var labels: [String: String]
    public var rules: [Rule]

    public init(name: String, labels: [String: String], rules: [Rule]) {
        self.name = name
        self.labels = labels
        self.rules = rules
    }
}

struct EnableRescue: Encodable, Sendable {
    var type: String
    var sshKeys: [Int]
    enum CodingKeys: String, CodingKey {
        case type
        case sshKeys = "ssh_keys"
    }
}
struct CreateImage: Encodable, Sendable {
    var description: String
    var type: String
    var labels: [String: String]
}
struct CreatePlacementGroup: Encodable, Sendable {
    var name: String
    var labels: [String: String]
    var type: String
}
struct CreateFloatingIP: Encodable, Sendable {
    var type: String
    var homeLocation: String
    var name: String
    var labels: [String: String]
    enum CodingKeys: String, CodingKey {
        case type, name, labels
        case homeLocation = "home_location"
    }
}
struct AssignFloatingIP: Encodable, Sendable { var server: Int }
struct CreateSSHKey: Encodable, Sendable {
    var name: String
    var publicKey: String
    var labels: [String: String]
    enum CodingKeys: String, CodingKey {
        case name, labels
        case publicKey = "public_key"
    }
}
