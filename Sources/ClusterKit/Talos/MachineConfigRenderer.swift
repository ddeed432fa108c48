import Foundation

/// Renders each node's Talos machine config from the cluster spec and its secrets bundle, the way
/// `talosctl gen config` would, for the contract of the spec's Talos version; the executor calls
/// ``render(_:)`` once per node.
///
/// The base layout follows what talosctl emits for each contract (siderolabs/talos
/// `pkg/machinery/config/types/v1alpha1/testdata/stability/v1.13` and `v1.14`, the
/// `base-controlplane.yaml`/`base-worker.yaml` files); on top of it go the spec's settings: node
/// hostname, certificate SANs, pool labels and taints, install disk and installer image, KubeSpan
/// and discovery, inline manifests, the endpoint's VIP or floating IP. Then the spec's patches
/// apply: cluster-wide, pool, node.
///
/// The output depends only on the inputs (mappings keep a fixed order, labels are sorted), so the
/// same spec and bundle give byte-identical text.
public struct MachineConfigRenderer: Sendable {
    public let spec: ClusterSpec
    public let secrets: SecretsBundle
    /// The address of the floating IP when the endpoint is `.floatingIP` (resolved by the provider).
    public var floatingIPAddress: String?
    /// Applied on control planes at bootstrap; empty until the GitOps bootstrap fills it.
    public var inlineManifests: [InlineManifest]

    /// The oldest Talos release whose config layout this renderer writes: 1.12 moved the hostname
    /// and KubeSpan into their own documents (`HostnameConfig`, `KubeSpanConfig`) and added
    /// fields (`grubUseUKICmdline`) that older releases reject. The newest is the last row of
    /// ``TalosSupportWindow``.
    public static let oldestSupportedTalos = TalosSupportWindow.oldestTalos

    /// The alias a selected VIP link gets (`LinkAliasConfig`); not a kernel interface name, as
    /// the Talos docs ask of aliases.
    public static let vipLinkAlias = "vip-link"

    /// Hetzner's user-data limit: a config must fit to be passed at server creation.
    public static let maximumConfigBytes = 32 * 1024

    public init(spec: ClusterSpec, secrets: SecretsBundle, floatingIPAddress: String? = nil, inlineManifests: [InlineManifest] = []) {
        self.spec = spec
        self.secrets = secrets
        self.floatingIPAddress = floatingIPAddress
        self.inlineManifests = inlineManifests
    }

    public var contract: ConfigContract { ConfigContract(talosVersion: spec.talos.version) }

    /// The host part of the Kubernetes API endpoint.
    public func endpointHost() throws(ClusterError) -> String {
        switch spec.endpoint.kind {
        case .dns(let name): return name
        case .vip(let address): return address
        case .floatingIP(let name):
            guard let address = floatingIPAddress, !address.isEmpty else {
                throw ClusterError(.invalidSpec, "the endpoint is floating IP \(name), whose address is not known yet",
                    hint: "create the floating IP first; its address goes into every config")
            }
            return address
        }
    }

    /// `https://<host>:<port>`, IPv6 hosts in brackets.
    public func endpointURL() throws(ClusterError) -> String {
        let host = try endpointHost()
        let shown = host.contains(":") ? "[\(host)]" : host
        return "https://\(shown):\(spec.endpoint.port)"
    }

    /// The node's config, patched and checked.
    public func render(_ node: NodeDescription) throws(ClusterError) -> MachineConfig {
        guard TalosSupportWindow.row(for: spec.talos.version) != nil else {
            let problem = TalosSupportWindow.problem(talos: spec.talos.version, kubernetes: spec.kubernetes.version)
            throw ClusterError(.invalidSpec, problem?.message ?? "Talos \(spec.talos.version) is not supported", hint: problem?.hint)
        }
        guard let pool = spec.pool(named: node.pool) else {
            throw ClusterError(.invalidSpec, "node \(node.name) names pool \(node.pool), which the spec does not have")
        }
        var documents = contract == .classic ? try classicDocuments(node, pool: pool) : try multiDocuments(node, pool: pool)
        let patches = spec.talos.patches + pool.patches + (pool.nodePatches[node.name] ?? [])
        for patch in patches {
            documents = try ConfigPatcher.apply(patch, to: documents, contract: contract, node: node.name)
        }
        try ConfigDocumentCheck.check(documents, contract: contract, role: node.role) { problem in
            ClusterError(.invalidSpec, "the config of node \(node.name) is invalid after patching: \(problem)",
                hint: patches.isEmpty ? nil : "check the patches from " + patches.map(\.origin).joined(separator: ", "))
        }
        let config = MachineConfig(nodeName: node.name, role: node.role, contract: contract, documents: documents)
        let size = config.yaml.utf8.count
        if size > Self.maximumConfigBytes {
            throw ClusterError(.invalidSpec, "the config of node \(node.name) is \(size) bytes, over the 32 KiB user-data limit",
                hint: "move large inline manifests to the GitOps repository")
        }
        return config
    }

    // MARK: - Shared values

    private var kubernetesVersion: String { spec.kubernetes.version.description }
    private func b64(_ text: String) -> YAMLTree { .string(SecretsBundle.base64(text)) }

    private func certSANs(_ node: NodeDescription) throws(ClusterError) -> [String] {
        var result: [String] = []
        for candidate in [try endpointHost(), floatingIPAddress].compactMap({ $0 }) + node.addresses
        where !candidate.isEmpty && !result.contains(candidate) {
            result.append(candidate)
        }
        return result
    }

    private func labels(_ node: NodeDescription, pool: PoolSpec, multiDocument: Bool) -> YAMLTree? {
        var labels = pool.labels
        if node.role == .controlPlane {
            labels["node.kubernetes.io/exclude-from-external-load-balancers"] = labels["node.kubernetes.io/exclude-from-external-load-balancers"] ?? ""
            if multiDocument { labels["node-role.kubernetes.io/control-plane"] = labels["node-role.kubernetes.io/control-plane"] ?? "" }
        }
        return labels.isEmpty ? nil : .sortedStrings(labels)
    }

    /// Taints Talos keeps on the Node after registration (`machine.nodeTaints`,
    /// `KubeNodeConfig.taints`): control planes only. Talos writes them with the node's own
    /// credentials on workers, and the API server's NodeRestriction admission refuses a kubelet
    /// that changes its taints after registering, failing the whole update, labels included
    /// (kubernetes/kubernetes PR #63167; Talos docs, "Node Labels and Node Taints"). Worker taints
    /// are registered by the kubelet instead, see ``registerWithTaints(_:pool:)``.
    private func taints(_ node: NodeDescription, pool: PoolSpec, multiDocument: Bool) -> YAMLTree? {
        guard node.role == .controlPlane else { return nil }
        var taints: [String: String] = [:]
        if multiDocument { taints["node-role.kubernetes.io/control-plane"] = "NoSchedule" }
        for taint in pool.taints {
            taints[taint.key] = taint.value.map { "\($0):\(taint.effect.rawValue)" } ?? taint.effect.rawValue
        }
        return taints.isEmpty ? nil : .sortedStrings(taints)
    }

    /// A worker's taints as the kubelet registers them: KubeletConfiguration `registerWithTaints`
    /// (Kubernetes `kubelet.config.k8s.io/v1beta1`), a list of `{key, value, effect}` that the
    /// kubelet sets when it creates its Node, which NodeRestriction allows.
    private func registerWithTaints(_ node: NodeDescription, pool: PoolSpec) -> YAMLTree? {
        guard node.role == .worker, !pool.taints.isEmpty else { return nil }
        return .sequence(pool.taints.sorted { $0.key < $1.key }.map { taint in
            .obj(["key": .string(taint.key), "value": taint.value.map(YAMLTree.string), "effect": .string(taint.effect.rawValue)])
        })
    }

    /// Extra kubelet configuration (`machine.kubelet.extraConfig`, `KubeletConfig.config`).
    private func kubeletExtraConfig(_ node: NodeDescription, pool: PoolSpec) -> YAMLTree? {
        registerWithTaints(node, pool: pool).map { .obj(["registerWithTaints": $0]) }
    }

    private func podSecurityAdmission() -> YAMLTree {
        .obj([
            "apiVersion": .string("pod-security.admission.config.k8s.io/v1alpha1"),
            "defaults": .obj([
                "audit": .string("restricted"), "audit-version": .string("latest"),
                "enforce": .string("baseline"), "enforce-version": .string("latest"),
                "warn": .string("restricted"), "warn-version": .string("latest"),
            ]),
            "exemptions": .obj([
                "namespaces": .strings(["kube-system"]), "runtimeClasses": .sequence([]), "usernames": .sequence([]),
            ]),
            "kind": .string("PodSecurityConfiguration"),
        ])
    }

    private func auditPolicy() -> YAMLTree {
        .obj([
            "apiVersion": .string("audit.k8s.io/v1"), "kind": .string("Policy"),
            "rules": .sequence([.obj(["level": .string("Metadata")])]),
        ])
    }

    private static func document(_ kind: String, _ body: KeyValuePairs<String, YAMLTree?> = [:]) -> YAMLTree {
        var entries = [YAMLEntry("apiVersion", .string("v1alpha1")), YAMLEntry("kind", .string(kind))]
        entries += body.compactMap { key, value in value.map { YAMLEntry(key, $0) } }
        return .mapping(entries)
    }

    private func hostnameDocument(_ node: NodeDescription) -> YAMLTree {
        Self.document("HostnameConfig", ["hostname": .string(node.name)])
    }

    /// Talos docs "Virtual (shared) IP": the VIP is announced by one control plane at a time,
    /// on the link the spec names or selects (a selected link gets an alias first). A VIP
    /// endpoint without a link is refused rather than silently left unannounced.
    private func vipDocuments(_ node: NodeDescription) throws(ClusterError) -> [YAMLTree] {
        guard node.role == .controlPlane, case .vip(let address) = spec.endpoint.kind else { return [] }
        switch spec.endpoint.vipLink {
        case .name(let link):
            return [Self.document("Layer2VIPConfig", ["name": .string(address), "link": .string(link)])]
        case .selector(let expression):
            return [
                Self.document("LinkAliasConfig", ["name": .string(Self.vipLinkAlias), "selector": .obj(["match": .string(expression)])]),
                Self.document("Layer2VIPConfig", ["name": .string(address), "link": .string(Self.vipLinkAlias)]),
            ]
        case nil:
            throw ClusterError(.invalidSpec, "the endpoint is VIP \(address), but no link is named to announce it on",
                hint: "add `link: <interface>` or `linkSelector: <CEL expression>` under endpoint, e.g. linkSelector: link.driver == \"virtio_net\"")
        }
    }

    /// The floating IP as a host route on every candidate's public link (see
    /// ``FloatingIPAddressing``).
    private func floatingIPDocument(_ node: NodeDescription) -> YAMLTree? {
        guard let addressing = FloatingIPAddressing(spec: spec, address: floatingIPAddress), addressing.carries(pool: node.pool) else { return nil }
        return Self.document("LinkConfig", [
            "name": .string(addressing.link), "addresses": .sequence([.obj(["address": .string(addressing.hostCIDR)])]),
        ])
    }

    /// KubeSpan on; on a floating-IP candidate, the shared address is kept out of KubeSpan.
    /// Every candidate carries it, so advertised over KubeSpan it would be claimed by several
    /// peers at once (overlapping peer addresses carry no traffic: siderolabs/talos#4562, in
    /// ../shared/reference/FAILOVER-FACTS.md), and as a WireGuard endpoint it reaches whichever
    /// node holds the IP, not the peer that announced it. Talos' KubeSpan filters
    /// (`filters.excludeAdvertisedNetworks`, and `filters.endpoints` with `!` excluding a prefix;
    /// Talos docs, "KubeSpanConfig" reference) drop it from both.
    private func kubeSpanDocument(_ node: NodeDescription) -> YAMLTree? {
        guard spec.network.kubeSpan else { return nil }
        guard let addressing = FloatingIPAddressing(spec: spec, address: floatingIPAddress), addressing.carries(pool: node.pool) else {
            return Self.document("KubeSpanConfig", ["enabled": .bool(true)])
        }
        return Self.document("KubeSpanConfig", [
            "enabled": .bool(true),
            "filters": .obj([
                // As the Talos docs write such a filter (KubeSpanConfig reference: `0.0.0.0/0`,
                // `'!192.168.0.0/16'`, `::/0`): the exclusion after its family's catch-all.
                "endpoints": .strings(addressing.address.contains(":")
                    ? ["0.0.0.0/0", "::/0", "!\(addressing.hostCIDR)"] : ["0.0.0.0/0", "!\(addressing.hostCIDR)", "::/0"]),
                "excludeAdvertisedNetworks": .strings([addressing.hostCIDR]),
            ]),
        ])
    }

    // MARK: - Classic contract

    private func classicDocuments(_ node: NodeDescription, pool: PoolSpec) throws(ClusterError) -> [YAMLTree] {
        let controlPlane = node.role == .controlPlane
        let endpoint = try endpointURL()
        let sans = try certSANs(node)
        let machine = YAMLTree.obj([
            "type": .string(node.role.rawValue),
            "token": .string(secrets.trustdToken),
            "ca": .obj(["crt": b64(secrets.osCA.certificatePEM), "key": controlPlane ? b64(secrets.osCA.keyPEM) : .string("")]),
            "certSANs": .strings(sans),
            "kubelet": .obj([
                "image": .string("ghcr.io/siderolabs/kubelet:\(kubernetesVersion)"),
                "defaultRuntimeSeccompProfileEnabled": .bool(true),
                "disableManifestsDirectory": .bool(true),
                "extraConfig": kubeletExtraConfig(node, pool: pool),
            ]),
            "install": .obj([
                "disk": .string(spec.talos.installDisk),
                "image": .string(node.installImage),
                "wipe": .bool(false),
                "grubUseUKICmdline": .bool(true),
            ]),
            "features": .obj([
                "diskQuotaSupport": .bool(true),
                "kubePrism": .obj(["enabled": .bool(true), "port": .int(7445)]),
                "hostDNS": .obj(["enabled": .bool(true), "forwardKubeDNSToHost": .bool(true)]),
            ]),
            "nodeLabels": labels(node, pool: pool, multiDocument: false),
            "nodeTaints": taints(node, pool: pool, multiDocument: false),
        ])
        let caPair: (PEMCertificateAndKey) -> YAMLTree = { pair in
            .obj(["crt": self.b64(pair.certificatePEM), "key": controlPlane ? self.b64(pair.keyPEM) : .string("")])
        }
        let discovery = YAMLTree.obj([
            "enabled": .bool(spec.network.discovery),
            "registries": .obj(["kubernetes": .obj(["disabled": .bool(true)]), "service": .mapping([])]),
        ])
        let manifests: YAMLTree? = controlPlane && !inlineManifests.isEmpty
            ? .sequence(inlineManifests.map { .obj(["name": .string($0.name), "contents": .string($0.contents)]) }) : nil
        let cluster = YAMLTree.obj([
            "id": .string(secrets.clusterID),
            "secret": .string(secrets.clusterSecret),
            "controlPlane": .obj(["endpoint": .string(endpoint)]),
            "clusterName": .string(spec.name),
            "network": .obj([
                "dnsDomain": .string("cluster.local"),
                "podSubnets": .strings(spec.network.podCIDRs.map(\.description)),
                "serviceSubnets": .strings(spec.network.serviceCIDRs.map(\.description)),
            ]),
            "token": .string(secrets.bootstrapToken),
            "secretboxEncryptionSecret": controlPlane ? secrets.secretboxEncryptionSecret.map(YAMLTree.string) : nil,
            "aescbcEncryptionSecret": controlPlane ? secrets.aescbcEncryptionSecret.map(YAMLTree.string) : nil,
            "ca": caPair(secrets.kubernetesCA),
            "aggregatorCA": controlPlane ? caPair(secrets.aggregatorCA) : nil,
            "serviceAccount": controlPlane ? .obj(["key": b64(secrets.serviceAccountKeyPEM)]) : nil,
            "apiServer": controlPlane
                ? .obj([
                    "image": .string("registry.k8s.io/kube-apiserver:\(kubernetesVersion)"),
                    "certSANs": .strings(sans),
                    "admissionControl": .sequence([
                        .obj(["name": .string("PodSecurity"), "configuration": podSecurityAdmission()])
                    ]),
                    "auditPolicy": auditPolicy(),
                ]) : nil,
            "controllerManager": controlPlane
                ? .obj(["image": .string("registry.k8s.io/kube-controller-manager:\(kubernetesVersion)")]) : nil,
            "proxy": controlPlane ? .obj(["image": .string("registry.k8s.io/kube-proxy:\(kubernetesVersion)")]) : nil,
            "scheduler": controlPlane ? .obj(["image": .string("registry.k8s.io/kube-scheduler:\(kubernetesVersion)")]) : nil,
            "discovery": discovery,
            "etcd": controlPlane ? .obj(["ca": caPair(secrets.etcdCA)]) : nil,
            "inlineManifests": manifests,
        ])
        let root = YAMLTree.obj([
            "version": .string("v1alpha1"), "debug": .bool(false),
            "machine": machine, "cluster": cluster,
        ])
        return [root, hostnameDocument(node), kubeSpanDocument(node), floatingIPDocument(node)].compactMap { $0 } + (try vipDocuments(node))
    }

    // MARK: - Multi-document contract

    private func multiDocuments(_ node: NodeDescription, pool: PoolSpec) throws(ClusterError) -> [YAMLTree] {
        let controlPlane = node.role == .controlPlane
        let endpoint = try endpointURL()
        let sans = try certSANs(node)
        let pem: (String) -> YAMLTree = { .string($0) }
        let root = YAMLTree.obj([
            "version": .string("v1alpha1"), "debug": .bool(false),
            "machine": .obj([
                "type": .string(node.role.rawValue),
                "token": .string(secrets.trustdToken),
                "ca": .obj([
                    "crt": b64(secrets.osCA.certificatePEM), "key": controlPlane ? b64(secrets.osCA.keyPEM) : .string(""),
                ]),
                "certSANs": .strings(sans),
                "features": .obj(["diskQuotaSupport": .bool(true)]),
            ]),
            "cluster": .obj([
                "token": .string(secrets.bootstrapToken),
                "etcd": controlPlane
                    ? .obj(["ca": .obj(["crt": b64(secrets.etcdCA.certificatePEM), "key": b64(secrets.etcdCA.keyPEM)])]) : nil,
            ]),
        ])
        var documents: [YAMLTree?] = [
            root,
            spec.network.discovery
                ? Self.document("DiscoveryServiceConfig", ["name": .string("default"), "endpoint": .string("https://discovery.talos.dev/")])
                : nil,
            Self.document("DiscoveryIdentityConfig", ["clusterID": .string(secrets.clusterID), "clusterSecret": .string(secrets.clusterSecret)]),
            Self.document("ResolverConfig", ["hostDNS": .obj(["enabled": .bool(true), "forwardKubeDNSToHost": .bool(true)])]),
            Self.document("VolumeConfig", ["name": .string("EPHEMERAL"), "mount": .obj(["secure": .bool(true)])]),
            Self.document("FilesystemTrimConfig", ["interval": .string("168h0m0s")]),
            Self.document("SecurityProfileConfig", ["workloadIsolation": .bool(true)]),
            hostnameDocument(node),
            Self.document("KubeClusterConfig", ["clusterName": .string(spec.name), "endpoint": .string(endpoint)]),
            Self.document("KubeNodeConfig", [
                "nodeIP": .mapping([]),
                "labels": labels(node, pool: pool, multiDocument: true),
                "taints": taints(node, pool: pool, multiDocument: true),
            ]),
            Self.document("KubeletConfig", [
                "image": .string("ghcr.io/siderolabs/kubelet:\(kubernetesVersion)"), "config": kubeletExtraConfig(node, pool: pool) ?? .mapping([]),
                "defaultRuntimeSeccompProfileEnabled": .bool(true),
            ]),
            Self.document("KubeNetworkConfig", [
                "dnsDomain": .string("cluster.local"),
                "podSubnets": .strings(spec.network.podCIDRs.map(\.description)),
                "serviceSubnets": .strings(spec.network.serviceCIDRs.map(\.description)),
            ]),
            controlPlane
                ? Self.document("KubeAPIServerCAConfig", [
                    "issuingCA": .obj(["cert": pem(secrets.kubernetesCA.certificatePEM), "key": pem(secrets.kubernetesCA.keyPEM)])
                ])
                : Self.document("KubeAPIServerCAConfig", ["acceptedCAs": .sequence([pem(secrets.kubernetesCA.certificatePEM)])]),
            Self.document("KubePrismConfig", ["port": .int(7445)]),
        ]
        if controlPlane {
            let secretbox = secrets.secretboxEncryptionSecret ?? secrets.aescbcEncryptionSecret ?? ""
            documents += [
                Self.document("KubeAggregatorCAConfig", [
                    "issuingCA": .obj(["cert": pem(secrets.aggregatorCA.certificatePEM), "key": pem(secrets.aggregatorCA.keyPEM)])
                ]),
                Self.document("KubeAdmissionControlConfig", ["name": .string("PodSecurity"), "configuration": podSecurityAdmission()]),
                Self.document("KubeAuditPolicyConfig", ["configuration": auditPolicy()]),
                Self.document("KubeAuthenticationConfig", [
                    "configuration": .obj([
                        "anonymous": .obj([
                            "conditions": .sequence(["/livez", "/readyz", "/healthz"].map { .obj(["path": .string($0)]) }),
                            "enabled": .bool(true),
                        ]),
                        "jwt": .sequence([]),
                    ])
                ]),
                Self.document("KubeAuthorizerConfig", ["name": .string("node"), "type": .string("Node")]),
                Self.document("KubeAuthorizerConfig", ["name": .string("rbac"), "type": .string("RBAC")]),
                Self.document("KubeEtcdEncryptionConfig", [
                    "config": .obj([
                        "resources": .sequence([
                            .obj([
                                "providers": .sequence([
                                    .obj(["secretbox": .obj(["keys": .sequence([.obj(["name": .string("key2"), "secret": .string(secretbox)])])])])
                                ]),
                                "resources": .strings(["secrets"]),
                            ])
                        ])
                    ])
                ]),
                Self.document("KubeServiceAccountConfig", [
                    "issuer": .obj(["privateKey": pem(secrets.serviceAccountKeyPEM), "issuerURL": .string(endpoint)])
                ]),
                Self.document("KubeAPIServerConfig", [
                    "image": .string("registry.k8s.io/kube-apiserver:\(kubernetesVersion)"),
                    "certExtraSANs": .strings(sans),
                ]),
                Self.document("KubeControllerManagerConfig", ["image": .string("registry.k8s.io/kube-controller-manager:\(kubernetesVersion)")]),
                Self.document("KubeSchedulerConfig", ["image": .string("registry.k8s.io/kube-scheduler:\(kubernetesVersion)"), "config": .mapping([])]),
                Self.document("KubeProxyConfig", ["image": .string("registry.k8s.io/kube-proxy:\(kubernetesVersion)"), "config": .mapping([])]),
                Self.document("KubeFlannelCNIConfig", ["backendType": .string("vxlan"), "backendPort": .int(4789)]),
                Self.document("KubeCoreDNSConfig", ["enabled": .bool(true)]),
            ]
            documents += inlineManifests.map {
                Self.document("KubeInlineManifestConfig", ["name": .string($0.name), "manifest": .string($0.contents)])
            }
        }
        // Talos 1.14 docs "Unattended install": UnattendedInstallConfig replaces the deprecated
        // machine.install; provisioning.diskSelector.match is a CEL expression over `disk`, whose
        // dev_path and symlinks (the /dev/disk/by-* names) identify the install disk.
        // provisioning.wipe defaults to true (runtime.ProvisioningSpec in
        // config.v1.14plus.schema.json); false as talosctl writes it and as machine.install.wipe
        // is in the classic form.
        let disk = spec.talos.installDisk.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        documents += [
            Self.document("UnattendedInstall", [
                "installer": .obj(["image": .string(node.installImage)]),
                "provisioning": .obj([
                    "diskSelector": .obj(["match": .string("disk.dev_path == \"\(disk)\" || \"\(disk)\" in disk.symlinks")]),
                    "wipe": .bool(false),
                ]),
            ]),
            kubeSpanDocument(node),
            floatingIPDocument(node),
        ]
        return documents.compactMap { $0 } + (try vipDocuments(node))
    }
}
