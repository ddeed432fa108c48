import ClusterKit
import ClusterTestSupport
import Foundation
import Testing

@Suite("Talos machine configs")
struct TalosMachineConfigTests {
    static let versions = ["v1.13.9", "v1.14.0"]

    static func renderAll(
        _ spec: ClusterSpec, manifests: [InlineManifest] = [], floatingIP: String? = nil, secrets: SecretsBundle? = nil
    ) throws -> [(NodeDescription, MachineConfig)] {
        let renderer = MachineConfigRenderer(
            spec: spec, secrets: try secrets ?? TalosFixture.secrets(), floatingIPAddress: floatingIP, inlineManifests: manifests)
        return try TalosTestSupport.nodes(of: spec).map { ($0, try renderer.render($0)) }
    }

    static let manifests = [InlineManifest(name: "flux-namespace", contents: "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: flux-system\n")]

    @Test("every document of every config validates against the official schema", .requiresReference(ReferenceData.talosSchema13, ReferenceData.talosSchema14), arguments: versions, [true, false])
    func schemaValid(version: String, kubeSpan: Bool) throws {
        guard TalosFixture.require(TalosTestSupport.schemaValidatorAvailable, "python3 with jsonschema and PyYAML") else { return }
        let spec = TalosTestSupport.spec(talos: version, controlPlanes: 1, workers: 1, kubeSpan: kubeSpan, discovery: kubeSpan)
        let configs = try Self.renderAll(spec, manifests: Self.manifests)
        #expect(Set(configs.map(\.0.role)) == [.controlPlane, .worker])
        for (node, config) in configs {
            #expect(config.contract == (version == "v1.13.9" ? .classic : .multiDocument))
            let result = try TalosTestSupport.validate(yaml: config.yaml, schema: try TalosFixture.schema(for: config.contract))
            #expect(result.documents == config.documents.count, "\(node.name): every document was validated")
            #expect(result.problems.isEmpty, "\(node.name): \(result.problems)")
        }
    }

    @Test(
        "the emitter writes talosctl's layout byte for byte",
        .requiresReference("talos/examples/v1.13-base-controlplane.yaml", "talos/examples/v1.13-base-worker.yaml",
            "talos/examples/v1.14-base-controlplane.yaml", "talos/examples/v1.14-base-worker.yaml"),
        arguments: ["v1.13-base-controlplane", "v1.13-base-worker", "v1.14-base-controlplane", "v1.14-base-worker"])
    func emitterMatchesTalosctl(file: String) throws {
        let text = try String(contentsOf: try TalosFixture.reference("examples/\(file).yaml"), encoding: .utf8)
        #expect(YAMLTree.emitDocuments(try YAMLTree.parseDocuments(text)) == text)
    }

    @Test(
        "the schema validator rejects what the schema forbids (so the check above can fail)",
        .requiresReference(ReferenceData.talosSchema13, ReferenceData.talosSchema14, "talos/examples/v1.13-base-worker.yaml"))
    func validatorCatchesErrors() throws {
        guard TalosFixture.require(TalosTestSupport.schemaValidatorAvailable, "python3 with jsonschema and PyYAML") else { return }
        let config = try #require(try Self.renderAll(TalosTestSupport.spec(talos: "v1.14.0", controlPlanes: 1, workers: 0)).first?.1)
        let broken = config.yaml + "---\napiVersion: v1alpha1\nkind: HostnameConfig\nauto: sometimes\n"
        let result = try TalosTestSupport.validate(yaml: broken, schema: try TalosFixture.schema(for: .multiDocument))
        #expect(result.problems.count == 1)
        // talosctl's own output carries `persist`, which the schema does not list.
        let reference = try String(contentsOf: try TalosFixture.reference("examples/v1.13-base-worker.yaml"), encoding: .utf8)
        #expect(try TalosTestSupport.validate(yaml: reference, schema: try TalosFixture.schema(for: .classic)).problems.count == 1)
    }

    /// A spec shaped like talosctl's `base` stability test input: cluster `base`, endpoint
    /// `https://base:6443`, Kubernetes v1.28.0, no labels, taints, KubeSpan or manifests.
    static func baseSpec(_ version: String) -> ClusterSpec {
        var spec = TalosTestSupport.spec(talos: version, controlPlanes: 1, workers: 1, kubeSpan: false, discovery: true, endpoint: .dns("base"))
        spec.name = "base"
        spec.kubernetes = KubernetesSettings(version: SemanticVersion(major: 1, minor: 28, patch: 0))
        for index in spec.pools.indices {
            spec.pools[index].labels = [:]
            spec.pools[index].taints = []
        }
        return spec
    }

    /// Removes what the spec adds and what talosctl writes but the schema does not list.
    static func normalized(_ documents: [YAMLTree]) -> [String: YAMLTree] {
        var result: [String: YAMLTree] = [:]
        for var document in documents {
            let kind = document["kind"]?.stringValue ?? "v1alpha1"
            let key = "\(kind)/\(document["name"]?.stringValue ?? "")"
            switch kind {
            case "v1alpha1":
                document.remove("persist")
                document.set(path: ["machine", "certSANs"], .sequence([]))
                if var install = document.value(at: ["machine", "install"]) {
                    install.remove("disk")
                    install.remove("image")
                    document.set(path: ["machine", "install"], install)
                }
                if var apiServer = document.value(at: ["cluster", "apiServer"]) {
                    apiServer.remove("certSANs")
                    document.set(path: ["cluster", "apiServer"], apiServer)
                }
            case "HostnameConfig":
                document.remove("auto")
                document.remove("hostname")
            case "KubeAPIServerConfig":
                document.remove("certExtraSANs")
            case "UnattendedInstall":
                continue
            default:
                break
            }
            result[key] = document
        }
        return result
    }

    @Test(
        "structure and values equal talosctl's for the same secrets, apart from what the spec adds",
        .requiresReference(ReferenceData.talosSecrets, "talos/examples/v1.13-base-controlplane.yaml", "talos/examples/v1.13-base-worker.yaml",
            "talos/examples/v1.14-base-controlplane.yaml", "talos/examples/v1.14-base-worker.yaml"),
        arguments: versions)
    func matchesReference(version: String) throws {
        let contractName = version == "v1.13.9" ? "v1.13" : "v1.14"
        for (node, config) in try Self.renderAll(Self.baseSpec(version), secrets: try TalosFixture.referenceSecrets()) {
            let role = node.role == .controlPlane ? "controlplane" : "worker"
            let referenceURL = try TalosFixture.reference("examples/\(contractName)-base-\(role).yaml")
            let reference = try YAMLTree.parseDocuments(String(contentsOf: referenceURL, encoding: .utf8))
            let ours = Self.normalized(config.documents)
            let theirs = Self.normalized(reference)
            #expect(Set(ours.keys) == Set(theirs.keys), "\(role): document kinds")
            for (key, document) in theirs {
                let mine = try #require(ours[key], "\(role): \(key) missing")
                #expect(mine.keyPaths == document.keyPaths, "\(role) \(key): key paths differ: \(mine.keyPaths.symmetricDifference(document.keyPaths))")
                #expect(mine == document, "\(role) \(key): values differ")
            }
            // And the additions are exactly the spec's.
            let added = config.documents.flatMap { doc in doc.keyPaths.map { "\(doc["kind"]?.stringValue ?? "v1alpha1"):\($0)" } }
            let referencePaths = reference.flatMap { doc in doc.keyPaths.map { "\(doc["kind"]?.stringValue ?? "v1alpha1"):\($0)" } }
            let extra = Set(added).subtracting(referencePaths)
            let expected: Set<String> = contractName == "v1.13"
                ? Set(["v1alpha1:machine.install.disk", "v1alpha1:machine.install.image", "HostnameConfig:hostname"])
                    .union(node.role == .controlPlane ? ["v1alpha1:cluster.apiServer.certSANs"] : [])
                : Set(["HostnameConfig:hostname", "UnattendedInstall:apiVersion", "UnattendedInstall:kind", "UnattendedInstall:installer",
                   "UnattendedInstall:installer.image", "UnattendedInstall:provisioning", "UnattendedInstall:provisioning.diskSelector",
                   "UnattendedInstall:provisioning.diskSelector.match", "UnattendedInstall:provisioning.wipe"])
                    .union(node.role == .controlPlane ? ["KubeAPIServerConfig:certExtraSANs"] : [])
            #expect(extra == expected, "\(role): additions")
        }
    }

    @Test("configs are byte-identical for the same spec and bundle, and small", arguments: versions)
    func deterministic(version: String) throws {
        let spec = TalosTestSupport.spec(talos: version, controlPlanes: 3, workers: 3)
        let first = try Self.renderAll(spec, manifests: Self.manifests).map(\.1.yaml)
        let second = try Self.renderAll(spec, manifests: Self.manifests).map(\.1.yaml)
        #expect(first == second)
        #expect(Set(first).count == first.count, "each node's config differs (hostname, SANs)")
        for text in first { #expect(text.utf8.count < MachineConfigRenderer.maximumConfigBytes) }
        #expect(!first.joined().contains("description:"), "no docs embedded")
    }

    @Test("control planes carry the CA keys; workers only certificates", arguments: versions)
    func keysOnControlPlanesOnly(version: String) throws {
        let secrets = try TalosFixture.secrets()
        let keys = [secrets.osCA.keyPEM, secrets.kubernetesCA.keyPEM, secrets.aggregatorCA.keyPEM, secrets.etcdCA.keyPEM, secrets.serviceAccountKeyPEM]
        for (node, config) in try Self.renderAll(TalosTestSupport.spec(talos: version, controlPlanes: 1, workers: 1)) {
            let text = config.yaml
            let root = config.documents[0]
            #expect(root.value(at: ["machine", "token"])?.stringValue == secrets.trustdToken)
            #expect(root.value(at: ["machine", "ca", "crt"])?.stringValue == Data(secrets.osCA.certificatePEM.utf8).base64EncodedString())
            if node.role == .controlPlane {
                for key in keys {
                    #expect(text.contains(Data(key.utf8).base64EncodedString()) || text.contains(key.split(separator: "\n")[1]))
                }
            } else {
                #expect(root.value(at: ["machine", "ca", "key"])?.stringValue == "")
                #expect(!text.contains("PRIVATE KEY"))
                for key in keys {
                    #expect(!text.contains(Data(key.utf8).base64EncodedString()))
                    #expect(!text.contains(key.split(separator: "\n")[1]))
                }
                #expect(!text.contains(try #require(secrets.secretboxEncryptionSecret)))
            }
        }
    }

    static func document(_ config: MachineConfig, _ kind: String) -> YAMLTree? {
        config.documents.first { $0["kind"]?.stringValue == kind }
    }

    static let registeredTaint = YAMLTree.sequence([
        .mapping([YAMLEntry("key", .string("dedicated")), YAMLEntry("value", .string("batch")), YAMLEntry("effect", .string("NoSchedule"))])
    ])

    @Test("the spec's per-node settings land where Talos reads them", arguments: versions)
    func perNodeSettings(version: String) throws {
        let spec = TalosTestSupport.spec(talos: version, controlPlanes: 1, workers: 1, endpoint: .floatingIP(name: "ingress"))
        #expect(throws: ClusterError.self) { try Self.renderAll(spec) }
        let configs = try Self.renderAll(spec, manifests: Self.manifests, floatingIP: "203.0.113.7")
        let classic = version == "v1.13.9"
        for (node, config) in configs {
            let root = config.documents[0]
            #expect(Self.document(config, "HostnameConfig")?["hostname"]?.stringValue == node.name)
            let sans = root.value(at: ["machine", "certSANs"])
            #expect(sans == .sequence((["203.0.113.7"] + node.addresses).map(YAMLTree.string)))
            #expect(Self.document(config, "KubeSpanConfig")?["enabled"] == .bool(true))
            let worker = node.role == .worker
            if classic {
                #expect(root.value(at: ["cluster", "controlPlane", "endpoint"])?.stringValue == "https://203.0.113.7:6443")
                #expect(root.value(at: ["cluster", "clusterName"])?.stringValue == "home")
                #expect(root.value(at: ["machine", "install", "image"])?.stringValue == node.installImage)
                #expect(root.value(at: ["machine", "install", "disk"])?.stringValue == "/dev/vda")
                #expect(root.value(at: ["cluster", "discovery", "enabled"]) == .bool(true))
                #expect(root.value(at: ["cluster", "network", "podSubnets"]) == .sequence([.string("10.244.0.0/16")]))
                #expect(root.value(at: ["cluster", "network", "serviceSubnets"]) == .sequence([.string("10.96.0.0/12")]))
                #expect(root.value(at: ["machine", "nodeLabels", "topology.kubernetes.io/zone"]) == (worker ? .string("lab-1") : nil))
                #expect(root.value(at: ["machine", "nodeTaints"]) == nil, "worker taints are registered by the kubelet")
                #expect(root.value(at: ["machine", "kubelet", "extraConfig", "registerWithTaints"]) == (worker ? Self.registeredTaint : nil))
                #expect((root.value(at: ["cluster", "inlineManifests"]) != nil) == !worker)
            } else {
                #expect(Self.document(config, "KubeClusterConfig")?["endpoint"]?.stringValue == "https://203.0.113.7:6443")
                #expect(Self.document(config, "UnattendedInstall")?.value(at: ["installer", "image"])?.stringValue == node.installImage)
                #expect(Self.document(config, "UnattendedInstall")?.value(at: ["provisioning", "diskSelector", "match"])?.stringValue
                    == #"disk.dev_path == "/dev/vda" || "/dev/vda" in disk.symlinks"#)
                #expect(Self.document(config, "DiscoveryServiceConfig") != nil)
                #expect(Self.document(config, "DiscoveryIdentityConfig")?["clusterSecret"]?.stringValue == (try TalosFixture.secrets()).clusterSecret)
                let nodeConfig = try #require(Self.document(config, "KubeNodeConfig"))
                #expect(nodeConfig.value(at: ["labels", "topology.kubernetes.io/zone"]) == (worker ? .string("lab-1") : nil))
                #expect(nodeConfig.value(at: ["taints", "dedicated"]) == nil, "worker taints are registered by the kubelet")
                #expect(Self.document(config, "KubeletConfig")?.value(at: ["config", "registerWithTaints"]) == (worker ? Self.registeredTaint : nil))
                #expect((Self.document(config, "KubeInlineManifestConfig") != nil) == !worker)
            }
            #expect(node.installImage == "factory.talos.dev/metal-installer/\(String(repeating: "ab", count: 32)):\(version)")
        }
        let off = try Self.renderAll(TalosTestSupport.spec(talos: version, controlPlanes: 1, workers: 0, kubeSpan: false, discovery: false))
        #expect(Self.document(off[0].1, "KubeSpanConfig") == nil)
        if classic {
            #expect(off[0].1.documents[0].value(at: ["cluster", "discovery", "enabled"]) == .bool(false))
        } else {
            #expect(Self.document(off[0].1, "DiscoveryServiceConfig") == nil)
        }
    }

    @Test("a VIP endpoint gets a Layer2VIPConfig on control planes, on the link the spec names", .requiresReference(ReferenceData.talosSchema13, ReferenceData.talosSchema14), arguments: versions)
    func vip(version: String) throws {
        var spec = TalosTestSupport.spec(talos: version, controlPlanes: 1, workers: 1, endpoint: .vip("192.168.1.5"))
        spec.endpoint.vipLink = .name("enp1s0")
        let renderer = MachineConfigRenderer(spec: spec, secrets: try TalosFixture.secrets())
        for node in TalosTestSupport.nodes(of: spec) {
            let config = try renderer.render(node)
            let vip = Self.document(config, "Layer2VIPConfig")
            #expect((vip != nil) == (node.role == .controlPlane))
            if let vip { #expect(vip["name"]?.stringValue == "192.168.1.5" && vip["link"]?.stringValue == "enp1s0") }
            guard case .sequence(let sans) = config.documents[0].value(at: ["machine", "certSANs"]) ?? .null else {
                Issue.record("certSANs missing")
                continue
            }
            #expect(sans.first == .string("192.168.1.5"), "the VIP is a SAN")
            guard TalosFixture.require(TalosTestSupport.schemaValidatorAvailable, "python3 with jsonschema") else { continue }
            let result = try TalosTestSupport.validate(yaml: config.yaml, schema: try TalosFixture.schema(for: config.contract))
            #expect(result.problems.isEmpty, "\(result.problems)")
        }
    }

    @Test("a config over Hetzner's 32 KiB user-data limit is an error naming the node")
    func sizeLimit() throws {
        let spec = TalosTestSupport.spec(controlPlanes: 1, workers: 0)
        let big = InlineManifest(name: "big", contents: String(repeating: "# padding line for the size limit\n", count: 1000))
        let renderer = MachineConfigRenderer(spec: spec, secrets: try TalosFixture.secrets(), inlineManifests: [big])
        let error = try #require(throws: ClusterError.self) { try renderer.render(TalosTestSupport.nodes(of: spec)[0]) }
        #expect(error.message.contains("home-cp-1") && error.message.contains("32 KiB"))
    }

    @Test("Talos releases older than 1.12 are refused with a clear error")
    func tooOld() throws {
        let spec = TalosTestSupport.spec(talos: "v1.11.5", controlPlanes: 1, workers: 0)
        let renderer = MachineConfigRenderer(spec: spec, secrets: try TalosFixture.secrets())
        let error = try #require(throws: ClusterError.self) { try renderer.render(TalosTestSupport.nodes(of: spec)[0]) }
        #expect(error.message.contains("v1.11.5") && error.hint?.contains("v1.12.0") == true)
    }

    @Test("IPv6 endpoints are bracketed; contracts switch at 1.14")
    func endpointsAndContracts() throws {
        let spec = TalosTestSupport.spec(endpoint: .vip("fd00::10"))
        let renderer = MachineConfigRenderer(spec: spec, secrets: try TalosFixture.secrets())
        #expect(try renderer.endpointURL() == "https://[fd00::10]:6443")
        #expect(ConfigContract(talosVersion: SemanticVersion(major: 1, minor: 13, patch: 99)) == .classic)
        #expect(ConfigContract(talosVersion: SemanticVersion(major: 1, minor: 14, patch: 0)) == .multiDocument)
        #expect(ConfigContract(talosVersion: SemanticVersion(major: 2, minor: 0, patch: 0)) == .multiDocument)
    }
}
