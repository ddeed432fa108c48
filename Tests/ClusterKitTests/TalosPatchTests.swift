import ClusterKit
import ClusterTestSupport
import Foundation
import Testing

@Suite("Talos config patches")
struct TalosPatchTests {
    static func merge(_ yaml: String, _ origin: String) -> ConfigPatch { ConfigPatch(kind: .strategicMerge, yaml: yaml, origin: origin) }
    static func json(_ yaml: String, _ origin: String) -> ConfigPatch { ConfigPatch(kind: .jsonPatch, yaml: yaml, origin: origin) }

    static func render(_ spec: ClusterSpec) throws -> [String: MachineConfig] {
        let renderer = MachineConfigRenderer(spec: spec, secrets: try TalosFixture.secrets())
        var result: [String: MachineConfig] = [:]
        for node in TalosTestSupport.nodes(of: spec) { result[node.name] = try renderer.render(node) }
        return result
    }

    static func renderError(_ spec: ClusterSpec) throws -> ClusterError {
        try #require(throws: ClusterError.self) { try render(spec) }
    }

    static func validate(_ configs: [String: MachineConfig]) throws {
        guard TalosFixture.require(TalosTestSupport.schemaValidatorAvailable, "python3 with jsonschema and PyYAML") else { return }
        for (name, config) in configs {
            let result = try TalosTestSupport.validate(yaml: config.yaml, schema: try TalosFixture.schema(for: config.contract))
            #expect(result.problems.isEmpty, "\(name): \(result.problems)")
        }
    }

    @Test("cluster, then pool, then node patches apply in that order", .requiresReference(ReferenceData.talosSchema13, ReferenceData.talosSchema14), arguments: ["v1.13.9", "v1.14.0"])
    func order(version: String) throws {
        let path = version == "v1.13.9" ? "machine:\n  kubelet:\n    extraArgs:\n      max-pods: \"%@\"\n" : "apiVersion: v1alpha1\nkind: KubeletConfig\nextraArgs:\n  max-pods: \"%@\"\n"
        let spec = TalosTestSupport.spec(
            talos: version, controlPlanes: 1, workers: 2,
            clusterPatches: [Self.merge(String(format: path, "110"), "clusters/home.yaml:10")],
            poolPatches: [Self.merge(String(format: path, "150"), "clusters/home.yaml:30")],
            nodePatches: ["home-workers-2": [Self.merge(String(format: path, "250"), "clusters/home.yaml:40")]])
        let configs = try Self.render(spec)
        func maxPods(_ node: String) throws -> String? {
            let config = try #require(configs[node])
            if config.contract == .classic { return config.documents[0].value(at: ["machine", "kubelet", "extraArgs", "max-pods"])?.stringValue }
            return config.documents.first { $0["kind"]?.stringValue == "KubeletConfig" }?.value(at: ["extraArgs", "max-pods"])?.stringValue
        }
        #expect(try maxPods("home-cp-1") == "110")
        #expect(try maxPods("home-workers-1") == "150")
        #expect(try maxPods("home-workers-2") == "250")
        try Self.validate(configs)
    }

    @Test("multi-document strategic merge matches apiVersion, kind and name; adds and deletes documents", .requiresReference(ReferenceData.talosSchema13, ReferenceData.talosSchema14))
    func multiDocumentMerge() throws {
        let patch = """
            apiVersion: v1alpha1
            kind: KubeAuthorizerConfig
            name: rbac
            type: RBAC
            webhook: {}
            $patch: delete
            ---
            apiVersion: v1alpha1
            kind: KubePrismConfig
            port: 7446
            ---
            apiVersion: v1alpha1
            kind: TimeSyncConfig
            ntp:
              servers:
                - time.cloudflare.com
            ---
            machine:
              certSANs:
                - extra.example.org
            """
        let spec = TalosTestSupport.spec(talos: "v1.14.0", controlPlanes: 1, workers: 0, clusterPatches: [Self.merge(patch, "patches/all.yaml")])
        let config = try #require(try Self.render(spec)["home-cp-1"])
        let kinds = config.documents.compactMap { doc in doc["kind"]?.stringValue.map { "\($0)/\(doc["name"]?.stringValue ?? "")" } }
        #expect(!kinds.contains("KubeAuthorizerConfig/rbac"))
        #expect(kinds.contains("KubeAuthorizerConfig/node"))
        #expect(kinds.last == "TimeSyncConfig/")
        #expect(config.documents.first { $0["kind"]?.stringValue == "KubePrismConfig" }?["port"] == .int(7446))
        guard case .sequence(let sans) = config.documents[0].value(at: ["machine", "certSANs"]) ?? .null else {
            Issue.record("certSANs missing")
            return
        }
        #expect(sans.last == .string("extra.example.org") && sans.count > 1, "lists are appended to")
        try Self.validate(["home-cp-1": config])
    }

    @Test("pod and service subnets are replaced, not appended to, as Talos tags them", .requiresReference(ReferenceData.talosSchema13, ReferenceData.talosSchema14), arguments: ["v1.13.9", "v1.14.0"])
    func replacedLists(version: String) throws {
        let patch = version == "v1.13.9"
            ? "cluster:\n  network:\n    podSubnets:\n      - 10.42.0.0/16\n    serviceSubnets:\n      - 10.43.0.0/16\n"
            : "apiVersion: v1alpha1\nkind: KubeNetworkConfig\npodSubnets:\n  - 10.42.0.0/16\nserviceSubnets:\n  - 10.43.0.0/16\n"
        let spec = TalosTestSupport.spec(talos: version, controlPlanes: 1, workers: 0, clusterPatches: [Self.merge(patch, "patches/net.yaml")])
        let config = try #require(try Self.render(spec)["home-cp-1"])
        let network = version == "v1.13.9"
            ? config.documents[0].value(at: ["cluster", "network"])
            : config.documents.first { $0["kind"]?.stringValue == "KubeNetworkConfig" }
        #expect(network?["podSubnets"] == .sequence([.string("10.42.0.0/16")]))
        #expect(network?["serviceSubnets"] == .sequence([.string("10.43.0.0/16")]))
        try Self.validate(["home-cp-1": config])
    }

    @Test("RFC 6902 JSON patches apply to the classic form", .requiresReference(ReferenceData.talosSchema13, ReferenceData.talosSchema14))
    func jsonPatchClassic() throws {
        let patch = """
            - op: add
              path: /machine/kubelet/extraArgs
              value:
                rotate-server-certificates: "true"
            - op: replace
              path: /machine/install/wipe
              value: true
            - op: remove
              path: /machine/features/kubePrism
            - op: add
              path: /machine/certSANs/-
              value: json.example.org
            - op: test
              path: /cluster/clusterName
              value: home
            """
        let spec = TalosTestSupport.spec(talos: "v1.13.9", controlPlanes: 1, workers: 0, clusterPatches: [Self.json(patch, "patches/json.yaml")])
        let config = try #require(try Self.render(spec)["home-cp-1"])
        let root = config.documents[0]
        #expect(root.value(at: ["machine", "kubelet", "extraArgs", "rotate-server-certificates"]) == .string("true"))
        #expect(root.value(at: ["machine", "install", "wipe"]) == .bool(true))
        #expect(root.value(at: ["machine", "features", "kubePrism"]) == nil)
        #expect(root.value(at: ["machine", "certSANs"]).map { $0 == .sequence([]) } == false)
        #expect(config.yaml.contains("- json.example.org"))
        try Self.validate(["home-cp-1": config])
    }

    @Test("JSON patches against the multi-document form are refused, naming patch and node")
    func jsonPatchMultiDocument() throws {
        let spec = TalosTestSupport.spec(
            talos: "v1.14.0", controlPlanes: 1, workers: 0,
            clusterPatches: [Self.json("- op: add\n  path: /machine/certSANs/-\n  value: x\n", "patches/json.yaml")])
        let error = try Self.renderError(spec)
        #expect(error.message.contains("patches/json.yaml") && error.message.contains("home-cp-1"))
        #expect(error.message.contains("multi-document"))
    }

    @Test("a JSON patch on a missing path names the patch, the node and the path")
    func jsonPatchMissingPath() throws {
        for operation in ["remove", "replace"] {
            let spec = TalosTestSupport.spec(
                talos: "v1.13.9", controlPlanes: 1, workers: 0,
                clusterPatches: [Self.json("- op: \(operation)\n  path: /machine/network/hostname\n  value: x\n", "patches/bad.yaml")])
            let error = try Self.renderError(spec)
            #expect(error.message.contains("patches/bad.yaml") && error.message.contains("home-cp-1"))
            #expect(error.message.contains("/machine/network/hostname") && error.message.contains("does not exist"))
        }
        let failedTest = TalosTestSupport.spec(
            talos: "v1.13.9", controlPlanes: 1, workers: 0,
            clusterPatches: [Self.json("- op: test\n  path: /cluster/clusterName\n  value: other\n", "patches/test.yaml")])
        #expect(try Self.renderError(failedTest).message.contains("test failed"))
    }

    @Test("strategic merge deleting a missing key or document is an error")
    func mergeMissingPath() throws {
        let key = TalosTestSupport.spec(
            talos: "v1.13.9", controlPlanes: 1, workers: 0,
            clusterPatches: [Self.merge("machine:\n  nodeTaints:\n    $patch: delete\n", "patches/del.yaml")])
        let error = try Self.renderError(key)
        #expect(error.message.contains("patches/del.yaml") && error.message.contains("home-cp-1") && error.message.contains("machine.nodeTaints"))
        let document = TalosTestSupport.spec(
            talos: "v1.14.0", controlPlanes: 1, workers: 0,
            clusterPatches: [Self.merge("apiVersion: v1alpha1\nkind: KubeAuthorizerConfig\nname: webhook\n$patch: delete\n", "patches/doc.yaml")])
        #expect(try Self.renderError(document).message.contains("KubeAuthorizerConfig webhook"))
    }

    @Test("patches built in code still cannot change what clusterctl owns")
    func ownedFieldsAtRenderTime() throws {
        let cases: [(String, ConfigPatch, String)] = [
            ("v1.13.9", Self.merge("cluster:\n  ca:\n    key: bm9wZQ==\n", "p/ca.yaml"), "the Kubernetes CA"),
            ("v1.13.9", Self.json("- op: replace\n  path: /cluster/clusterName\n  value: other\n", "p/name.yaml"), "the cluster name"),
            ("v1.13.9", Self.json("- op: remove\n  path: /machine/token\n", "p/token.yaml"), "the machine (trustd) token"),
            ("v1.14.0", Self.merge("apiVersion: v1alpha1\nkind: KubeClusterConfig\nendpoint: https://evil:6443\n", "p/endpoint.yaml"), "the control-plane endpoint"),
            ("v1.14.0", Self.merge("apiVersion: v1alpha1\nkind: DiscoveryIdentityConfig\nclusterSecret: bm9wZQ==\n", "p/secret.yaml"), "the cluster secret"),
        ]
        for (version, patch, fragment) in cases {
            let spec = TalosTestSupport.spec(talos: version, controlPlanes: 1, workers: 0, clusterPatches: [patch])
            let error = try Self.renderError(spec)
            #expect(error.message.contains("patches may not change \(fragment)") && error.message.contains(patch.origin), "\(error.message)")
        }
    }

    @Test("patches yielding invalid documents are errors naming the node and patch")
    func invalidResults() throws {
        let cases: [(String, ConfigPatch, String)] = [
            ("v1.13.9", Self.merge("machine:\n  type: worker\n", "p/type.yaml"), "machine.type"),
            ("v1.14.0", Self.merge("machine:\n  install:\n    disk: /dev/sdb\n", "p/install.yaml"), "machine.install"),
            ("v1.14.0", Self.merge("apiVersion: v1alpha1\nkind: NoSuchConfig\nfoo: 1\n", "p/kind.yaml"), "NoSuchConfig"),
            ("v1.13.9", Self.merge("cluster:\n  network:\n    podSubnets:\n      - not-a-cidr\n", "p/cidr.yaml"), "CIDR"),
            ("v1.13.9", Self.json("- op: replace\n  path: /version\n  value: v2\n", "p/version.yaml"), "version"),
            ("v1.13.9", Self.merge("- just\n- a list\n", "p/list.yaml"), "mapping"),
        ]
        for (version, patch, fragment) in cases {
            let spec = TalosTestSupport.spec(talos: version, controlPlanes: 1, workers: 0, clusterPatches: [patch])
            let error = try Self.renderError(spec)
            #expect(error.message.contains("home-cp-1"), "\(patch.origin): \(error.message)")
            #expect(error.description.contains(patch.origin), "\(patch.origin): \(error.description)")
            #expect(error.message.contains(fragment), "\(patch.origin): \(error.message)")
        }
    }
}
