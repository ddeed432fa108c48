import ClusterKit
import ClusterTestSupport
import Foundation
import Testing

/// The example specs, with all their patches, give configs that the official schema accepts.
@Suite struct ExampleSpecConfigTests {
    @Test(.requiresReference(ReferenceData.talosSchema13, ReferenceData.talosSchema14), arguments: ["home", "lab"])
    func everyNodeConfigOfTheExampleValidates(cluster: String) throws {
        let root = CLIHarness.packageRoot()
        let loaded = try SpecLoader.load(path: root.appendingPathComponent("clusters/\(cluster).yaml").path)
        let source = TalosConfigSource(spec: loaded.spec, secrets: try TalosFixture.secrets())
        let plan = Planner.plan(spec: loaded.spec, observed: ObservedCluster(machines: []))
        #expect(!plan.desired.isEmpty)
        let schema = try TalosFixture.schema(for: ConfigContract(talosVersion: loaded.spec.talos.version))
        guard TalosFixture.require(TalosTestSupport.schemaValidatorAvailable, "python3 with jsonschema and PyYAML") else { return }
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
}
