import ClusterKit
import ClusterTestSupport
import Foundation
import Testing

/// What real nodes need from the configs, read back from what `gen config` writes (the same
/// ``ClusterConfigWriter`` the command uses), on both config contracts.
@Suite("Talos configs that work on real nodes")
struct TalosRealNodeTests {
    static let versions = ["v1.13.9", "v1.14.0"]

    /// Writes every node's config as `gen config` does and reads the documents back.
    static func genConfig(_ spec: ClusterSpec, floatingIP: String? = nil) throws -> [String: [YAMLTree]] {
        let directory = try TalosFixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let renderer = MachineConfigRenderer(spec: spec, secrets: try TalosFixture.secrets(), floatingIPAddress: floatingIP)
        let output = try ClusterConfigWriter(renderer: renderer).write(nodes: TalosTestSupport.nodes(of: spec), to: directory)
        return try output.machineConfigs.mapValues { try YAMLTree.parseDocuments(String(contentsOf: $0, encoding: .utf8)) }
    }

    static func documents(_ documents: [YAMLTree], _ kind: String) -> [YAMLTree] {
        documents.filter { $0["kind"]?.stringValue == kind }
    }

    static func withIngressIP(_ spec: ClusterSpec) -> ClusterSpec {
        var spec = spec
        spec.failover = FailoverSpec(
            ingressIP: IngressIPSpec(name: "ingress", provider: "sim", candidatePools: ["cp"]),
            replacement: ReplacementPolicy(mode: .manual, nodeLostAfter: .seconds(600)))
        return spec
    }

    @Test("the floating IP is a /32 on eth0 of every candidate, and no Hetzner token is in any config", arguments: versions)
    func floatingIPOnCandidates(version: String) throws {
        let spec = Self.withIngressIP(TalosTestSupport.spec(talos: version, controlPlanes: 3, workers: 2, endpoint: .floatingIP(name: "ingress")))
        let configs = try Self.genConfig(spec, floatingIP: "203.0.113.7")
        #expect(configs.count == 5)
        for (name, documents) in configs {
            let links = Self.documents(documents, "LinkConfig")
            if name.hasPrefix("home-cp-") {
                #expect(links.count == 1, "\(name)")
                #expect(links.first?["name"]?.stringValue == "eth0")
                #expect(links.first?["addresses"] == .sequence([.mapping([YAMLEntry("address", .string("203.0.113.7/32"))])]), "\(name)")
            } else {
                #expect(links.isEmpty, "\(name) is not a candidate")
            }
            // KubeSpan neither routes nor dials the shared address (every candidate has it).
            let kubeSpan = try #require(Self.documents(documents, "KubeSpanConfig").first)
            if name.hasPrefix("home-cp-") {
                #expect(kubeSpan.value(at: ["filters", "excludeAdvertisedNetworks"]) == .sequence([.string("203.0.113.7/32")]))
                #expect(kubeSpan.value(at: ["filters", "endpoints"]) == .sequence(["0.0.0.0/0", "!203.0.113.7/32", "::/0"].map(YAMLTree.string)))
            } else {
                #expect(kubeSpan["filters"] == nil, "\(name)")
            }
            #expect(Self.documents(documents, "HCloudVIPConfig").isEmpty)
            #expect(!YAMLTree.emitDocuments(documents).contains("apiToken"))
        }
        // IPv6 floating IPs are host routes too.
        let v6 = try Self.genConfig(spec, floatingIP: "2001:db8:1::1")
        #expect(Self.documents(try #require(v6["home-cp-1"]), "LinkConfig").first?.value(at: ["addresses"])
            == .sequence([.mapping([YAMLEntry("address", .string("2001:db8:1::1/128"))])]))
        let addressing = try #require(FloatingIPAddressing(spec: spec, address: "203.0.113.7"))
        #expect(addressing.candidatePools == ["cp"] && addressing.carries(pool: "cp") && !addressing.carries(pool: "workers"))
    }

    @Test("a layer-2 VIP is announced on the named or selected link, on control planes only", arguments: versions)
    func vipAnnounced(version: String) throws {
        var spec = TalosTestSupport.spec(talos: version, controlPlanes: 2, workers: 1, endpoint: .vip("192.168.20.10"))
        spec.endpoint.vipLink = .selector(#"link.driver == "virtio_net""#)
        for (name, documents) in try Self.genConfig(spec) {
            let vips = Self.documents(documents, "Layer2VIPConfig")
            let aliases = Self.documents(documents, "LinkAliasConfig")
            if name.hasPrefix("home-cp-") {
                #expect(vips.count == 1 && aliases.count == 1, "\(name)")
                #expect(aliases.first?["name"]?.stringValue == MachineConfigRenderer.vipLinkAlias)
                #expect(aliases.first?.value(at: ["selector", "match"])?.stringValue == #"link.driver == "virtio_net""#)
                #expect(vips.first?["name"]?.stringValue == "192.168.20.10" && vips.first?["link"]?.stringValue == MachineConfigRenderer.vipLinkAlias)
            } else {
                #expect(vips.isEmpty && aliases.isEmpty, "\(name)")
            }
        }
        spec.endpoint.vipLink = .name("ens18")
        let named = try #require(try Self.genConfig(spec)["home-cp-1"])
        #expect(Self.documents(named, "Layer2VIPConfig").first?["link"]?.stringValue == "ens18")
        #expect(Self.documents(named, "LinkAliasConfig").isEmpty)
        spec.endpoint.vipLink = nil
        let error = try #require(throws: ClusterError.self) { try Self.genConfig(spec) }
        #expect(error.message.contains("no link") && error.hint?.contains("linkSelector") == true)
    }

    @Test("validate refuses the lab's VIP without a link, at file:line:column")
    func vipWithoutLinkIsAnError() throws {
        let path = URL(fileURLWithPath: SpecFixtures.repositoryRoot).appendingPathComponent("clusters/lab.yaml").path
        let original = try String(contentsOfFile: path, encoding: .utf8)
        let lines = original.components(separatedBy: "\n")
        let selectorLine = try #require(lines.firstIndex { $0.hasPrefix("  linkSelector:") })
        let vipLine = try #require(lines.firstIndex { $0.hasPrefix("  vip:") })
        var without = lines
        without.remove(at: selectorLine)
        let error = try #require(throws: SpecError.self) {
            try SpecLoader.load(yaml: without.joined(separator: "\n"), file: path, imagesDirectory: SpecFixtures.repositoryRoot + "/images")
        }
        let diagnostic = try #require(error.errors.first { $0.path == "endpoint.vip" }, "\(error)")
        #expect(diagnostic.position == "\(vipLine + 1):8" && diagnostic.message.contains("link"), "\(diagnostic)")
        #expect(diagnostic.description.hasPrefix("\(path):\(vipLine + 1):8: error: endpoint.vip: "))
    }

    @Test("worker taints are registered by the kubelet; only control planes keep nodeTaints", arguments: versions)
    func taintsRegistered(version: String) throws {
        var spec = TalosTestSupport.spec(talos: version, controlPlanes: 1, workers: 1)
        spec.pools[0].taints = [Taint(key: "dedicated", value: "etcd", effect: .noExecute)]
        spec.pools[1].taints.append(Taint(key: "gpu", value: nil, effect: .preferNoSchedule))
        let classic = version == "v1.13.9"
        let configs = try Self.genConfig(spec)
        let worker = try #require(configs["home-workers-1"])
        let cp = try #require(configs["home-cp-1"])
        let registered: YAMLTree? = classic
            ? worker[0].value(at: ["machine", "kubelet", "extraConfig", "registerWithTaints"])
            : Self.documents(worker, "KubeletConfig").first?.value(at: ["config", "registerWithTaints"])
        #expect(registered == .sequence([
            .mapping([YAMLEntry("key", .string("dedicated")), YAMLEntry("value", .string("batch")), YAMLEntry("effect", .string("NoSchedule"))]),
            .mapping([YAMLEntry("key", .string("gpu")), YAMLEntry("effect", .string("PreferNoSchedule"))]),
        ]))
        let workerKept = classic ? worker[0].value(at: ["machine", "nodeTaints"]) : Self.documents(worker, "KubeNodeConfig").first?["taints"]
        #expect(workerKept == nil, "Talos would write these with the kubelet's credentials")
        let workerLabels = classic ? worker[0].value(at: ["machine", "nodeLabels"]) : Self.documents(worker, "KubeNodeConfig").first?["labels"]
        #expect(workerLabels?["topology.kubernetes.io/zone"]?.stringValue == "lab-1", "labels stay")
        let cpKept = classic ? cp[0].value(at: ["machine", "nodeTaints"]) : Self.documents(cp, "KubeNodeConfig").first?["taints"]
        #expect(cpKept?["dedicated"]?.stringValue == "etcd:NoExecute")
        let cpRegistered = classic
            ? cp[0].value(at: ["machine", "kubelet", "extraConfig"]) : Self.documents(cp, "KubeletConfig").first?.value(at: ["config", "registerWithTaints"])
        #expect(cpRegistered == nil)
    }

    @Test("installs keep the disk: wipe is false in both contracts", arguments: versions)
    func noWipe(version: String) throws {
        let configs = try Self.genConfig(TalosTestSupport.spec(talos: version, controlPlanes: 1, workers: 1))
        for (name, documents) in configs {
            if version == "v1.13.9" {
                #expect(documents[0].value(at: ["machine", "install", "wipe"]) == .bool(false), "\(name)")
            } else {
                #expect(Self.documents(documents, "UnattendedInstall").first?.value(at: ["provisioning", "wipe"]) == .bool(false), "\(name)")
            }
        }
    }

    /// A spec exercising every point at once: floating IP on candidates, tainted workers; and a
    /// VIP variant.
    static func everything(_ version: String, vip: Bool) -> ClusterSpec {
        if vip {
            var spec = TalosTestSupport.spec(talos: version, controlPlanes: 1, workers: 1, endpoint: .vip("192.168.20.10"))
            spec.endpoint.vipLink = .selector(#"link.driver == "virtio_net""#)
            return spec
        }
        return Self.withIngressIP(TalosTestSupport.spec(talos: version, controlPlanes: 1, workers: 1, endpoint: .floatingIP(name: "ingress")))
    }

    @Test(
        "every generated document with these fixes validates against the official schema",
        .requiresReference(ReferenceData.talosSchema13, ReferenceData.talosSchema14), arguments: versions, [false, true])
    func schemaValid(version: String, vip: Bool) throws {
        guard TalosFixture.require(TalosTestSupport.schemaValidatorAvailable, "python3 with jsonschema and PyYAML") else { return }
        let contract = ConfigContract(talosVersion: try #require(SemanticVersion(parsing: version)))
        for (name, documents) in try Self.genConfig(Self.everything(version, vip: vip), floatingIP: "203.0.113.7") {
            let result = try TalosTestSupport.validate(yaml: YAMLTree.emitDocuments(documents), schema: try TalosFixture.schema(for: contract))
            #expect(result.problems.isEmpty, "\(name): \(result.problems)")
            #expect(result.documents == documents.count)
        }
    }
}
