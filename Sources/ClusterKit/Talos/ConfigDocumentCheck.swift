/// Structural checks on a finished config, so a patch that breaks it fails here, naming the
/// node and the patch, instead of on the machine.
///
/// The key sets come from the official schemas (`config.v1.13.schema.json` and
/// `config.v1.14plus.schema.json`, siderolabs/docs and siderolabs/talos): the `v1alpha1` document
/// allows only those top-level, `machine` and `cluster` keys, and every other document must be
/// one of the kinds the contract knows. The tests validate the full schemas with a JSON Schema
/// validator; this is the subset that catches broken patches at generation time.
enum ConfigDocumentCheck {
    static let rootKeys: Set<String> = ["version", "debug", "persist", "machine", "cluster"]

    static let classicMachineKeys: Set<String> = [
        "acceptedCAs", "baseRuntimeSpecOverrides", "ca", "certSANs", "controlPlane", "features", "files", "install",
        "kernel", "kubelet", "logging", "nodeAnnotations", "nodeLabels", "nodeTaints", "pods", "seccompProfiles",
        "sysctls", "sysfs", "token", "type", "udev",
    ]
    static let classicClusterKeys: Set<String> = [
        "acceptedCAs", "adminKubeconfig", "aescbcEncryptionSecret", "aggregatorCA", "allowSchedulingOnControlPlanes",
        "apiServer", "ca", "clusterName", "controlPlane", "controllerManager", "coreDNS", "discovery", "etcd",
        "externalCloudProvider", "extraManifestHeaders", "extraManifests", "id", "inlineManifests", "network", "proxy",
        "scheduler", "secret", "secretboxEncryptionSecret", "serviceAccount", "token",
    ]
    static let slimMachineKeys: Set<String> = [
        "acceptedCAs", "ca", "certSANs", "features", "logging", "seccompProfiles", "token", "type",
    ]
    static let slimClusterKeys: Set<String> = ["adminKubeconfig", "etcd", "externalCloudProvider", "token"]

    static let classicKinds: Set<String> = [
        "BlackholeRouteConfig", "BondConfig", "BridgeConfig", "DHCPv4Config", "DHCPv6Config", "DummyLinkConfig",
        "EnvironmentConfig", "EthernetConfig", "EventSinkConfig", "ExistingVolumeConfig", "ExtensionServiceConfig",
        "ExternalVolumeConfig", "HCloudVIPConfig", "HostnameConfig", "KmsgLogConfig", "KubeSpanConfig",
        "KubeSpanEndpoints", "Layer2VIPConfig", "LinkAliasConfig", "LinkConfig", "NetworkDefaultActionConfig",
        "NetworkRuleConfig", "OOMConfig", "PCIDriverRebindConfig", "RawVolumeConfig", "RegistryAuthConfig",
        "RegistryMirrorConfig", "RegistryTLSConfig", "ResolverConfig", "RoutingRuleConfig", "SideroLinkConfig",
        "StaticHostConfig", "SwapVolumeConfig", "TCPProbeConfig", "TimeSyncConfig", "TrustedRootsConfig",
        "UserVolumeConfig", "VLANConfig", "VRFConfig", "VolumeConfig", "WatchdogTimerConfig", "WireguardConfig",
        "ZswapConfig",
    ]
    static let multiDocumentKinds: Set<String> = classicKinds.union([
        "BGPInstanceConfig", "CRIBaseRuntimeSpecConfig", "CRICustomizationConfig", "ContainerConfig",
        "DiscoveryIdentityConfig", "DiscoveryServiceConfig", "EtcFileConfig", "FilesystemScrubConfig",
        "FilesystemTrimConfig", "HTTPProbeConfig", "ImageCacheConfig", "KernelModuleConfig", "KubeAPIServerCAConfig",
        "KubeAPIServerConfig", "KubeAdmissionControlConfig", "KubeAggregatorCAConfig", "KubeAuditPolicyConfig",
        "KubeAuthenticationConfig", "KubeAuthorizerConfig", "KubeClusterConfig", "KubeControllerManagerConfig",
        "KubeCoreDNSConfig", "KubeCredentialProviderConfig", "KubeEtcdEncryptionConfig", "KubeExternalManifestConfig",
        "KubeFlannelCNIConfig", "KubeInlineManifestConfig", "KubeNetworkConfig", "KubeNodeConfig", "KubePrismConfig",
        "KubeProxyConfig", "KubeSchedulerConfig", "KubeServiceAccountConfig", "KubeStaticPodConfig",
        "KubeTalosAPIAccessConfig", "KubeletConfig", "LVMLogicalVolumeConfig", "LVMVolumeGroupConfig",
        "RAIDArrayConfig", "SecurityProfileConfig", "SysctlConfig", "SysfsConfig", "UdevRulesConfig",
        "UnattendedInstall", "VethConfig",
    ])

    static func check(
        _ documents: [YAMLTree], contract: ConfigContract, role: NodeRole, error: (String) -> ClusterError
    ) throws(ClusterError) {
        guard let root = documents.first, root["kind"] == nil else { throw error("the first document must be the v1alpha1 document") }
        guard case .mapping(let rootEntries) = root else { throw error("the v1alpha1 document is not a mapping") }
        guard root["version"]?.stringValue == "v1alpha1" else { throw error("version must be v1alpha1") }
        if let unknown = rootEntries.map(\.key).first(where: { !rootKeys.contains($0) }) {
            throw error("unknown top-level key \(unknown)")
        }
        let machineKeys = contract == .classic ? classicMachineKeys : slimMachineKeys
        let clusterKeys = contract == .classic ? classicClusterKeys : slimClusterKeys
        for (section, allowed) in [("machine", machineKeys), ("cluster", clusterKeys)] {
            guard case .mapping(let entries) = root[section] ?? .null else { throw error("\(section) must be a mapping") }
            if let unknown = entries.map(\.key).first(where: { !allowed.contains($0) }) {
                throw error("\(section).\(unknown) is not allowed in the \(contract == .classic ? "classic" : "1.14+ slim") v1alpha1 document")
            }
        }
        guard root.value(at: ["machine", "type"])?.stringValue == role.rawValue else {
            throw error("machine.type must stay \(role.rawValue)")
        }
        for path in [["machine", "token"], ["machine", "ca", "crt"], ["cluster", "token"]] {
            guard let value = root.value(at: path)?.stringValue, !value.isEmpty else {
                throw error("\(path.joined(separator: ".")) must be a non-empty string")
            }
        }
        if contract == .classic {
            guard let endpoint = root.value(at: ["cluster", "controlPlane", "endpoint"])?.stringValue, endpoint.hasPrefix("https://") else {
                throw error("cluster.controlPlane.endpoint must be an https:// URL")
            }
            for key in ["podSubnets", "serviceSubnets"] {
                guard case .sequence(let items) = root.value(at: ["cluster", "network", key]) ?? .null else {
                    throw error("cluster.network.\(key) must be a list")
                }
                for item in items {
                    guard let text = item.stringValue, (try? CIDR(parsing: text)) != nil else {
                        throw error("cluster.network.\(key) holds \(item.stringValue ?? "a non-string"), not a CIDR")
                    }
                }
            }
        }
        let kinds = contract == .classic ? classicKinds : multiDocumentKinds
        var seen = Set<String>()
        for document in documents.dropFirst() {
            guard case .mapping = document else { throw error("every document must be a mapping") }
            guard document["apiVersion"]?.stringValue == "v1alpha1" else { throw error("every document needs apiVersion v1alpha1") }
            guard let kind = document["kind"]?.stringValue else { throw error("a document has no kind") }
            guard kinds.contains(kind) else { throw error("document kind \(kind) is unknown to this Talos version") }
            let identity = "\(kind)/\(document["name"]?.stringValue ?? "")"
            guard seen.insert(identity).inserted else { throw error("document \(identity) appears twice") }
        }
    }
}
