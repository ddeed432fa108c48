/// A provider the spec names, with its settings.
public struct ProviderSpec: Sendable, Hashable {
    public var name: String
    public var settings: Settings

    public enum Settings: Sendable, Hashable {
        case hetzner(HetznerSettings)
        case libvirt(LibvirtSettings)
        case proxmox(ProxmoxSettings)
        case simulator(SimulatorSettings)
    }

    public init(name: String, settings: Settings) {
        self.name = name
        self.settings = settings
    }

    /// `hetzner`, `libvirt`, `proxmox` or `simulator`.
    public var type: String {
        switch settings {
        case .hetzner: "hetzner"
        case .libvirt: "libvirt"
        case .proxmox: "proxmox"
        case .simulator: "simulator"
        }
    }
}

public struct HetznerSettings: Sendable, Hashable {
    /// Environment variable holding the API token (default `HCLOUD_TOKEN`).
    public var token: SecretReference
    public var locations: [String]
    public var network: HetznerNetwork?
    /// Firewall name to create and attach; nil attaches none.
    public var firewall: String?
    public var architecture: String

    public init(token: SecretReference, locations: [String], network: HetznerNetwork?, firewall: String?, architecture: String = "amd64") {
        self.token = token
        self.locations = locations
        self.network = network
        self.firewall = firewall
        self.architecture = architecture
    }
}

public struct HetznerNetwork: Sendable, Hashable {
    public var name: String
    public var ipRange: CIDR
    public var subnet: CIDR
    public var zone: String

    public init(name: String, ipRange: CIDR, subnet: CIDR, zone: String) {
        self.name = name
        self.ipRange = ipRange
        self.subnet = subnet
        self.zone = zone
    }
}

/// A plain Linux host running libvirt/KVM, reached over SSH.
public struct LibvirtSettings: Sendable, Hashable {
    public var ssh: SSHTarget
    /// libvirt connection URI on that host, e.g. `qemu:///system`.
    public var uri: String
    /// Storage pool name for volumes (`default`), or a directory when `storageDir` is set.
    public var storagePool: String
    public var storageDir: String?
    /// Host bridge (`br0`) or, when `network` is set, a libvirt network.
    public var bridge: String?
    public var network: String?

    public init(ssh: SSHTarget, uri: String, storagePool: String, storageDir: String?, bridge: String?, network: String?) {
        self.ssh = ssh
        self.uri = uri
        self.storagePool = storagePool
        self.storageDir = storageDir
        self.bridge = bridge
        self.network = network
    }
}

public struct SSHTarget: Sendable, Hashable {
    public var host: String
    public var port: Int
    public var user: String
    /// Private key file (ed25519, ecdsa or rsa).
    public var keyFile: String
    /// Where the key's passphrase comes from, if it has one.
    public var passphrase: SecretReference?
    public var knownHostsFile: String

    public init(host: String, port: Int, user: String, keyFile: String, passphrase: SecretReference?, knownHostsFile: String) {
        self.host = host
        self.port = port
        self.user = user
        self.keyFile = keyFile
        self.passphrase = passphrase
        self.knownHostsFile = knownHostsFile
    }
}

/// A Proxmox VE host reached over its HTTP API.
public struct ProxmoxSettings: Sendable, Hashable {
    /// Base URL, e.g. `https://pve.lan:8006`.
    public var url: String
    /// API token `USER@REALM!TOKENID=SECRET`, from an environment variable or file.
    public var token: SecretReference
    public var node: String
    public var templateVMID: Int
    public var storage: String
    public var linkedClone: Bool
    public var bridge: String
    public var tls: TLSTrust

    public init(url: String, token: SecretReference, node: String, templateVMID: Int, storage: String, linkedClone: Bool, bridge: String, tls: TLSTrust) {
        self.url = url
        self.token = token
        self.node = node
        self.templateVMID = templateVMID
        self.storage = storage
        self.linkedClone = linkedClone
        self.bridge = bridge
        self.tls = tls
    }
}

/// How to trust a server's TLS certificate. The server is always verified: by its chain, or by
/// its exact public key.
public enum TLSTrust: Sendable, Hashable {
    /// The system's CA store.
    case system
    /// A PEM CA bundle file.
    case caFile(String)
    /// A pinned public key, `sha256//<base64>` as libcurl's `CURLOPT_PINNEDPUBLICKEY` takes it:
    /// the key must match and that is enough (a self-signed certificate is then trusted).
    case pinnedPublicKey(String)
}

/// The simulator as a named provider in a spec, with its timings.
public struct SimulatorSettings: Sendable, Hashable {
    /// A name for the simulated site, used as the machines' location.
    public var site: String

    public init(site: String) { self.site = site }
}
