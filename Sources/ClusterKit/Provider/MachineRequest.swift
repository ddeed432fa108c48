/// A Talos image to make available on a provider before machines are cloned from it.
public struct ImageRequest: Sendable, Hashable, Codable {
    /// Name of the image definition under `images/`.
    public var name: String
    public var talosVersion: String
    /// Image Factory schematic id (sha256 of the schematic YAML).
    public var schematicID: String
    public var architecture: String
    /// Image Factory platform (`hcloud`, `nocloud`, `metal`, ...); the provider sets it.
    public var platform: String

    public init(name: String, talosVersion: String, schematicID: String, architecture: String, platform: String) {
        self.name = name
        self.talosVersion = talosVersion
        self.schematicID = schematicID
        self.architecture = architecture
        self.platform = platform
    }
}

/// An image present on a provider (Hetzner snapshot, libvirt base volume, Proxmox template).
public struct ProviderImage: Sendable, Hashable, Codable {
    public var id: String
    public var description: String

    public init(id: String, description: String) {
        self.id = id
        self.description = description
    }
}

/// A rendered Talos machine config. It carries secrets: never print or log it.
public struct MachineConfigPayload: Sendable, Hashable {
    public var bytes: [UInt8]

    public init(_ text: String) { self.bytes = Array(text.utf8) }
    public init(bytes: [UInt8]) { self.bytes = bytes }

    public var text: String { String(decoding: bytes, as: UTF8.self) }
}

extension MachineConfigPayload: CustomStringConvertible, CustomDebugStringConvertible {
    public var description: String { "<machine config, \(bytes.count) bytes>" }
    public var debugDescription: String { description }
}

/// Everything a provider needs to create one machine.
public struct MachineRequest: Sendable, Hashable {
    public var identity: NodeIdentity
    public var size: MachineSize
    public var image: ProviderImage
    /// Hetzner location, Proxmox node, ...; nil lets the provider choose its default.
    public var location: String?
    /// The machine config, for providers that pass it as user data at creation. Nil boots the
    /// machine into Talos maintenance mode, to be configured over the Talos API.
    public var userData: MachineConfigPayload?
    /// Whether the machine gets a public IPv4 address (Hetzner); private network only when false.
    public var publicIPv4: Bool

    public init(
        identity: NodeIdentity, size: MachineSize, image: ProviderImage, location: String? = nil,
        userData: MachineConfigPayload? = nil, publicIPv4: Bool = true
    ) {
        self.identity = identity
        self.size = size
        self.image = image
        self.location = location
        self.userData = userData
        self.publicIPv4 = publicIPv4
    }
}
