import ClusterKit
import ClusterTestSupport
import Foundation
import Testing

/// The example specs, with all their patches, give configs that the official schema accepts, on
/// both config contracts: as written (Talos 1.13) and switched to Talos 1.14 with each patch in
/// the 1.14 form its comment in the example gives.
@Suite struct ExampleSpecConfigTests {
    static func merge(_ yaml: String) -> ConfigPatch { ConfigPatch(kind: .strategicMerge, yaml: yaml, origin: "1.14 form from the example's comment") }

    /// The example on Talos 1.14, its patches rewritten as the example's comments show.
    static func on114(_ spec: ClusterSpec) throws -> ClusterSpec {
        var spec = spec
        spec.talos.version = try #require(SemanticVersion(parsing: "v1.14.0"))
        if !spec.talos.patches.isEmpty {
            spec.talos.patches = [merge("apiVersion: v1alpha1\nkind: SysctlConfig\nparams:\n  net.core.somaxconn: \"65535\"\n")]
        }
        for index in spec.pools.indices {
            if !spec.pools[index].patches.isEmpty {
                spec.pools[index].patches = [
                    merge("apiVersion: v1alpha1\nkind: UnattendedInstall\nprovisioning:\n  diskSelector:\n    match: disk.dev_path == \"/dev/vda\"\n")
                ]
            }
            for node in spec.pools[index].nodePatches.keys {
                spec.pools[index].nodePatches[node] = [merge("apiVersion: v1alpha1\nkind: KubeNodeConfig\nlabels:\n  node.example.net/gpu: \"true\"\n")]
            }
        }
        return spec
    }

    @Test(
        "every node's config of each example validates on each contract",
        .requiresReference(ReferenceData.talosSchema13, ReferenceData.talosSchema14),
        arguments: ["home", "lab"], ["v1.13", "v1.14"])
    func everyNodeConfigOfTheExampleValidates(cluster: String, contract contractName: String) throws {
        guard TalosFixture.require(TalosTestSupport.schemaValidatorAvailable, "python3 with jsonschema and PyYAML") else { return }
        let root = CLIHarness.packageRoot()
        let loaded = try SpecLoader.load(path: root.appendingPathComponent("clusters/\(cluster).yaml").path)
        let spec = contractName == "v1.14" ? try Self.on114(loaded.spec) : loaded.spec
        let contract = ConfigContract(talosVersion: spec.talos.version)
        #expect(contract == (contractName == "v1.14" ? .multiDocument : .classic))
        let source = TalosConfigSource(spec: spec, secrets: try TalosFixture.secrets())
        let plan = Planner.plan(spec: spec, observed: ObservedCluster(machines: []))
        #expect(!plan.desired.isEmpty)
        #expect(Set(plan.desired.map(\.identity.role)) == [.controlPlane, .worker], "a config per role")
        let schema = try TalosFixture.schema(for: contract)
        for (index, node) in plan.desired.enumerated() {
            let config = try source.render(node: node.identity, addresses: ["192.0.2.\(index + 10)"], floatingIP: "203.0.113.10")
            #expect(config.bytes.count < 32 * 1024)
            let result = try TalosTestSupport.validate(yaml: config.text, schema: schema)
            #expect(result.documents >= 1)
            #expect(result.problems.isEmpty, "\(node.identity.node): \(result.problems)")
            let summary = try MachineConfigSummary(parsing: config)
            #expect(summary.role == node.identity.role && summary.clusterName == loaded.spec.name)
        }
    }

    @Test("the examples' comments give the 1.14 form of each patch")
    func commentsShowBothContracts() throws {
        let home = try String(contentsOf: CLIHarness.packageRoot().appendingPathComponent("clusters/home.yaml"), encoding: .utf8)
        for kind in ["SysctlConfig", "UnattendedInstall", "KubeNodeConfig"] {
            #expect(home.contains("#     kind: \(kind)"), "\(kind)")
        }
        #expect(home.contains("Talos 1.14"))
    }
}
