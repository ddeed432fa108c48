// Wire types of the Hetzner Cloud API, only the fields clusterctl reads or writes. Shapes from
// ../shared/reference/hetzner/cloud.spec.json (Hetzner's OpenAPI document).

/// A resource a list endpoint returns under `listKey` (`GET /servers` -> `servers`).
public protocol HetznerListable: Decodable, Sendable {
    static var listKey: String { get }
}

public struct HetznerServer: HetznerListable, Hashable {
    public static let listKey = "servers"
    public struct PublicNet: Decodable, Sendable, Hashable {
        public struct Address: Decodable, Sendable, Hashable { public var ip: String }
        public var ipv4: Address?
        public var ipv6: Address?
        public var floatingIPs: [Int]?
        enum CodingKeys: String, CodingKey {
            case ipv4, ipv6
            case floatingIPs = "floating_ips"
        }
    }
    public struct PrivateNet: Decodable, Sendable, Hashable {
        public var network: Int
        public var ip: String
    }
    public struct Named: Decodable, Sendable, Hashable { public var name: String }
    public struct ImageRef: Decodable, Sendable, Hashable { public var id: Int }

    public var id: Int
    public var name: String
    /// `running`, `initializing`, `starting`, `stopping`, `off`, `deleting`, `migrating`, `rebuilding`, `unknown`.
    public var status: String
    public var labels: [String: String]
    public var publicNet: PublicNet?
    public var privateNet: [PrivateNet]?
    public var serverType: Named?
    public var location: Named?
    public var image: ImageRef?

    enum CodingKeys: String, CodingKey {
        case id, name, status, labels, location, image
        case publicNet = "public_net"
        case privateNet = "private_net"
        case serverType = "server_type"
    }
}

/// An asynchronous task (spec: "Actions"); `status` is `running`, `success` or `error`.
public struct HetznerAction: HetznerListable, Hashable {
    public static let listKey = "actions"
    public struct Failure: Decodable, Sendable, Hashable {
        public var code: String
        public var message: String
    }
    public var id: Int
    public var command: String
    public var status: String
    public var progress: Int?
    public var error: Failure?

    public var isFinished: Bool { status != "running" }
}

public struct HetznerImage: HetznerListable, Hashable {
    public static let listKey = "images"
    public var id: Int
    public var type: String?
    public var status: String?
    public var description: String?
    public var labels: [String: String]
}

public struct HetznerNetworkResource: HetznerListable, Hashable {
    public static let listKey = "networks"
    public struct Subnet: Decodable, Sendable, Hashable {
        public var type: String
        public var ipRange: String?
        public var networkZone: String?
        enum CodingKeys: String, CodingKey {
            case type
            case ipRange = "ip_range"
            case networkZone = "network_zone"
        }
    }
    public var id: Int
    public var name: String
    public var ipRange: String
    public var subnets: [Subnet]
    public var labels: [String: String]
    enum CodingKeys: String, CodingKey {
        case id, name, subnets, labels
        case ipRange = "ip_range"
    }
}

public struct HetznerFirewall: HetznerListable, Hashable {
    public static let listKey = "firewalls"
    public var id: Int
    public var name: String
    public var labels: [String: String]
}

public struct HetznerPlacementGroup: HetznerListable, Hashable {
    public static let listKey = "placement_groups"
    public var id: Int
    public var name: String
    public var type: String
    public var labels: [String: String]
}

public struct HetznerFloatingIP: HetznerListable, Hashable {
    public static let listKey = "floating_ips"
    public var id: Int
    public var name: String
    public var ip: String
    public var server: Int?
    public var labels: [String: String]
}

public struct HetznerSSHKey: HetznerListable, Hashable {
    public static let listKey = "ssh_keys"
    public var id: Int
    public var name: String
    public var labels: [String: String]
}

/// `meta.pagination` (spec: "Pagination"); `next_page` is null on the last page.
struct HetznerPagination: Decodable, Sendable {
    var page: Int
    var nextPage: Int?
    enum CodingKeys: String, CodingKey {
        case page
        case nextPage = "next_page"
    }
}

struct HetznerPage<Item: HetznerListable>: Decodable {
    struct Meta: Decodable { var pagination: HetznerPagination? }
    var items: [Item]
    var meta: Meta?

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        items = try container.decode([Item].self, forKey: Key(stringValue: Item.listKey))
        meta = try container.decodeIfPresent(Meta.self, forKey: Key(stringValue: "meta"))
    }
}

/// The error body every failed request carries (spec: "Errors").
struct HetznerErrorBody: Decodable {
    struct Body: Decodable {
        struct Details: Decodable {
            struct Field: Decodable {
                var name: String
                var messages: [String]?
            }
            var fields: [Field]?
        }
        var code: String
        var message: String
        var details: Details?
    }
    var error: Body
}
