/// Which machine-config layout a Talos version reads.
///
/// Talos 1.14 split the classic `v1alpha1` document into a slim `v1alpha1` document followed by
/// separate documents (`KubeClusterConfig`, `DiscoveryIdentityConfig`, `KubeAPIServerCAConfig`,
/// ...); see the `v1.13`/`v1.14` stability test data in siderolabs/talos
/// `pkg/machinery/config/types/v1alpha1/testdata/stability/`.
public enum ConfigContract: String, Sendable, Hashable, CaseIterable {
    /// Talos 1.13 and earlier: one `v1alpha1` document carrying machine and cluster settings,
    /// plus the few documents that never lived in it (`HostnameConfig`, `KubeSpanConfig`).
    case classic
    /// Talos 1.14 and later.
    case multiDocument

    public init(talosVersion: SemanticVersion) {
        self = talosVersion >= SemanticVersion(major: 1, minor: 14, patch: 0) ? .multiDocument : .classic
    }
}

/// What the generator needs to know about one node.
public struct NodeDescription: Sendable, Hashable {
    public var name: String
    public var role: NodeRole
    /// The pool it belongs to (labels, taints and patches come from it).
    public var pool: String
    /// Addresses known for the node (public and private), added to its certificate SANs.
    public var addresses: [String]
    /// Installer image reference, e.g. from ``ImageFactory/installerImage(platform:schematicID:talosVersion:)``.
    public var installImage: String

    public init(name: String, role: NodeRole, pool: String, addresses: [String], installImage: String) {
        self.name = name
        self.role = role
        self.pool = pool
        self.addresses = addresses
        self.installImage = installImage
    }
}

/// A manifest Talos applies at bootstrap (`cluster.inlineManifests` or
/// `KubeInlineManifestConfig`); the GitOps bootstrap fills these.
public struct InlineManifest: Sendable, Hashable {
    public var name: String
    public var contents: String

    public init(name: String, contents: String) {
        self.name = name
        self.contents = contents
    }
}

/// A rendered machine config for one node.
public struct MachineConfig: Sendable, Hashable {
    public var nodeName: String
    public var role: NodeRole
    public var contract: ConfigContract
    /// The documents, `v1alpha1` first.
    public let documents: [YAMLTree]
    /// The config text, documents separated by `---`. Contains secrets: never print it.
    public let yaml: String

    public init(nodeName: String, role: NodeRole, contract: ConfigContract, documents: [YAMLTree]) {
        self.nodeName = nodeName
        self.role = role
        self.contract = contract
        self.documents = documents
        self.yaml = YAMLTree.emitDocuments(documents)
    }
}

/// Image Factory references (https://factory.talos.dev, siderolabs/image-factory README:
/// installer images are `factory.talos.dev/<platform>-installer/<schematic id>:<version>`,
/// the Secure Boot variant `<platform>-installer-secureboot`).
public enum ImageFactory {
    public static let host = "factory.talos.dev"

    /// The installer image for a platform (`metal`, `hcloud`, `nocloud`, ...) and schematic.
    public static func installerImage(platform: String, schematicID: String, talosVersion: SemanticVersion, secureBoot: Bool = false) -> String {
        "\(host)/\(platform)-installer\(secureBoot ? "-secureboot" : "")/\(schematicID):\(talosVersion)"
    }
}
