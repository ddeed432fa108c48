/// The desired cluster, as written in `clusters/<name>.yaml`. Read by ``SpecLoader``; every
/// value here has been decoded strictly and validated.
public struct ClusterSpec: Sendable, Hashable {
    public var name: String
    public var talos: TalosSettings
    public var kubernetes: KubernetesSettings
    public var endpoint: EndpointSpec
    public var network: NetworkSpec
    /// Providers by their spec name, in file order.
    public var providers: [ProviderSpec]
    public var pools: [PoolSpec]
    public var gitops: GitOpsSpec?
    public var failover: FailoverSpec?
    public var drills: DrillSpec?

    public init(
        name: String, talos: TalosSettings, kubernetes: KubernetesSettings, endpoint: EndpointSpec,
        network: NetworkSpec, providers: [ProviderSpec], pools: [PoolSpec], gitops: GitOpsSpec? = nil,
        failover: FailoverSpec? = nil, drills: DrillSpec? = nil
    ) {
        self.name = name
        self.talos = talos
        self.kubernetes = kubernetes
        self.endpoint = endpoint
        self.network = network
        self.providers = providers
        self.pools = pools
        self.gitops = gitops
        self.failover = failover
        self.drills = drills
    }

    public func provider(named name: String) -> ProviderSpec? { providers.first { $0.name == name } }
    public func pool(named name: String) -> PoolSpec? { pools.first { $0.name == name } }
}

/// A version such as `v1.13.9` (the leading `v` is optional when written).
public struct SemanticVersion: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var major: Int
    public var minor: Int
    public var patch: Int

    public init(major: Int, minor: Int, patch: Int) {
        self.major = major
        self.minor = minor
        self.patch = patch
    }

    /// Parses `v1.13.9` or `1.13.9`; nil for anything else.
    public init?(parsing text: String) {
        let body = text.hasPrefix("v") ? text.dropFirst() : Substring(text)
        let parts = body.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let major = Int(parts[0]), let minor = Int(parts[1]), let patch = Int(parts[2]),
            major >= 0, minor >= 0, patch >= 0
        else { return nil }
        self.init(major: major, minor: minor, patch: patch)
    }

    public var description: String { "v\(major).\(minor).\(patch)" }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.major, lhs.minor, lhs.patch) < (rhs.major, rhs.minor, rhs.patch)
    }
}

/// A Talos config patch from the spec: a strategic-merge document or an RFC 6902 JSON patch.
public struct ConfigPatch: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        case strategicMerge
        case jsonPatch
    }

    public var kind: Kind
    /// The patch as YAML text (a mapping for strategic merge, a list of operations for JSON patch),
    /// possibly several `---` separated documents.
    public var yaml: String
    /// Where it came from, for error messages: `clusters/home.yaml:42` or a patch file path.
    public var origin: String

    public init(kind: Kind, yaml: String, origin: String) {
        self.kind = kind
        self.yaml = yaml
        self.origin = origin
    }
}

public struct TalosSettings: Sendable, Hashable {
    public var version: SemanticVersion
    /// Name of an image definition under `images/` (`images/<name>.yaml`).
    public var image: String
    /// Patches applied to every node, before pool and node patches.
    public var patches: [ConfigPatch]
    /// The disk Talos installs to.
    public var installDisk: String
    /// Image Factory schematic id of the image definition, resolved when the spec is loaded.
    public var schematicID: String

    public init(version: SemanticVersion, image: String, schematicID: String = "", patches: [ConfigPatch] = [], installDisk: String = "/dev/sda") {
        self.version = version
        self.image = image
        self.schematicID = schematicID
        self.patches = patches
        self.installDisk = installDisk
    }
}

public struct KubernetesSettings: Sendable, Hashable {
    public var version: SemanticVersion

    public init(version: SemanticVersion) { self.version = version }
}

/// How clients reach the Kubernetes API.
public struct EndpointSpec: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        /// A DNS name the user points at the control-plane nodes.
        case dns(String)
        /// The floating IP named in `failover.ingressIP`, held by a control-plane node.
        case floatingIP(name: String)
        /// A Talos shared layer-2 VIP among control-plane nodes on one network.
        case vip(String)
    }

    public var kind: Kind
    public var port: Int
    /// For a `.vip` endpoint: the control planes' link on the shared layer-2 network that
    /// announces the VIP (`endpoint.link` or `endpoint.linkSelector`). Validation requires it.
    public var vipLink: LinkReference?

    public init(kind: Kind, port: Int = 6443, vipLink: LinkReference? = nil) {
        self.kind = kind
        self.port = port
        self.vipLink = vipLink
    }
}

public struct NetworkSpec: Sendable, Hashable {
    public var podCIDRs: [CIDR]
    public var serviceCIDRs: [CIDR]
    /// Talos KubeSpan: a WireGuard mesh among all nodes, so home and cloud nodes reach each other.
    public var kubeSpan: Bool
    /// Talos discovery service (needed by KubeSpan); defaults to on when KubeSpan is on.
    public var discovery: Bool

    public init(podCIDRs: [CIDR], serviceCIDRs: [CIDR], kubeSpan: Bool, discovery: Bool) {
        self.podCIDRs = podCIDRs
        self.serviceCIDRs = serviceCIDRs
        self.kubeSpan = kubeSpan
        self.discovery = discovery
    }
}

/// Where a secret comes from. Secrets are never written inline in a spec.
public enum SecretReference: Sendable, Hashable, CustomStringConvertible {
    case environment(String)
    case file(String)

    public var description: String {
        switch self {
        case .environment(let name): "environment variable \(name)"
        case .file(let path): "file \(path)"
        }
    }
}
