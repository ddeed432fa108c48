import ClusterKit
import ClusterTestSupport
import Foundation
import Testing

/// `validate` refuses what real nodes or `gen config` would refuse: the Talos/Kubernetes support
/// window, labels and taints a kubelet may not write, an unresolvable image, patches the chosen
/// config contract rejects. Each at its file:line:column.
@Suite("Spec: rules from Talos and Kubernetes")
struct SpecTalosRulesTests {
    static let cases: [BadSpec] = [
        BadSpec(name: "Kubernetes older than Talos 1.13 supports", replacements: [6: "  version: v1.29.0"], fragment: "Talos 1.13 supports Kubernetes 1.31–1.36, not v1.29.0", position: "6:12"),
        BadSpec(name: "Kubernetes newer than Talos 1.13 supports", replacements: [6: "  version: v1.40.0"], fragment: "supports Kubernetes 1.31–1.36, not v1.40.0", position: "6:12"),
        BadSpec(name: "Kubernetes 1.37 needs Talos 1.14", replacements: [6: "  version: v1.37.1"], fragment: "a Talos release that supports 1.37 (1.14)", position: "6:12"),
        BadSpec(name: "Talos newer than the contracts this build knows", replacements: [3: "  version: v1.15.0"], fragment: "newer than the config contracts this build knows", position: "3:12"),
        BadSpec(name: "Talos older than the oldest contract", replacements: [3: "  version: v1.11.5"], fragment: "older than v1.12.0", position: "3:12"),
        BadSpec(
            name: "worker role label a kubelet may not set",
            replacements: [38: "    size: {cpus: 8, memory: 32GiB}\n    labels: {node-role.kubernetes.io/worker: \"\"}"],
            fragment: "may not set label node-role.kubernetes.io/worker", position: "39:14"),
        BadSpec(
            name: "node-restriction label",
            replacements: [38: "    size: {cpus: 8, memory: 32GiB}\n    labels: {node-restriction.kubernetes.io/pool: big}"],
            fragment: "may not set label node-restriction.kubernetes.io/pool", position: "39:14"),
        BadSpec(
            name: "a patch adds a label a kubelet may not set",
            replacements: [38: "    size: {cpus: 8, memory: 32GiB}\n    patches: [{machine: {nodeLabels: {kubernetes.io/role: worker}}}]"],
            fragment: "label kubernetes.io/role", position: "39:15"),
        BadSpec(
            name: "a patch sets worker taints Talos would keep",
            replacements: [38: "    size: {cpus: 8, memory: 32GiB}\n    patches: [{machine: {nodeTaints: {gpu: \"true:NoSchedule\"}}}]"],
            fragment: "registers them through the kubelet", position: "39:15"),
        BadSpec(
            name: "a classic patch on Talos 1.14 (what gen config refuses)",
            replacements: [3: "  version: v1.14.0", 38: "    size: {cpus: 8, memory: 32GiB}\n    patches: [{machine: {sysctls: {net.core.somaxconn: \"65535\"}}}]"],
            fragment: "machine.sysctls is not a field of the Talos v1.14.0 v1alpha1 document", position: "39:26"),
        BadSpec(
            name: "a patch breaking the config in either contract",
            replacements: [38: "    size: {cpus: 8, memory: 32GiB}\n    nodePatches: {t-big-2: [{machine: {type: controlplane}}]}"],
            fragment: "patches may not set the node's machine type", position: "39:40"),
        BadSpec(name: "link on a non-VIP endpoint", replacements: [8: "  floatingIP: ingress\n  link: eth0"], fragment: "link and linkSelector name the link of a `vip:` endpoint", position: "9:9"),
    ]

    @Test("refused at its place", arguments: cases)
    func refused(_ bad: BadSpec) throws {
        try bad.expectRefused()
    }

    @Test("labels a kubelet may set pass; the support window's edges pass", arguments: [
        [38: "    size: {cpus: 8, memory: 32GiB}\n    labels: {node.kubernetes.io/pool: big, topology.kubernetes.io/zone: home, example.org/role: worker}"],
        [6: "  version: v1.31.0"], [6: "  version: v1.36.9"], [3: "  version: v1.14.0", 6: "  version: v1.37.0"], [3: "  version: v1.12.3", 6: "  version: v1.30.0"],
    ])
    func accepted(_ replacements: [Int: String]) throws {
        _ = try SpecLoader.load(yaml: SpecFixtures.base(replacing: replacements), file: "clusters/t.yaml")
    }

    @Test("NodeRestriction's rule for kubelet-set labels")
    func kubeletLabels() {
        let allowed = ["kubernetes.io/hostname", "topology.kubernetes.io/zone", "node.kubernetes.io/instance-type", "node.kubernetes.io/anything",
                       "foo.node.kubernetes.io/x", "kubelet.kubernetes.io/x", "example.org/role", "plain", "node.longhorn.io/create-default-disk"]
        let refused = ["node-role.kubernetes.io/worker", "node-role.kubernetes.io/control-plane", "kubernetes.io/role", "k8s.io/x",
                       "team.k8s.io/x", "node-restriction.kubernetes.io/pool", "a.node-restriction.kubernetes.io/b", "Kubernetes.IO/x"]
        for key in allowed { #expect(NodeRestriction.kubeletMaySet(label: key), "\(key)") }
        for key in refused { #expect(!NodeRestriction.kubeletMaySet(label: key), "\(key)") }
    }

    @Test("the support window is one table: 1.12 → 1.30–1.35, 1.13 → 1.31–1.36, 1.14 → 1.32–1.37")
    func window() throws {
        let rows = TalosSupportWindow.rows.map { "\($0.talos.major).\($0.talos.minor) \($0.kubernetesRange)" }
        #expect(rows == ["1.12 1.30–1.35", "1.13 1.31–1.36", "1.14 1.32–1.37"])
        #expect(TalosSupportWindow.row(for: try #require(SemanticVersion(parsing: "v1.15.0"))) == nil)
        // The renderer refuses what this build does not know, so gen config does too.
        let spec = TalosTestSupport.spec(talos: "v1.15.0", controlPlanes: 1, workers: 0)
        let renderer = MachineConfigRenderer(spec: spec, secrets: try TalosFixture.secrets())
        let error = try #require(throws: ClusterError.self) { try renderer.render(TalosTestSupport.nodes(of: spec)[0]) }
        #expect(error.message.contains("newer than the config contracts"))
    }

    @Test("an image that cannot be resolved is invalid: no images/ beside clusters/")
    func unresolvedImage() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("spec-images-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let clusters = root.appendingPathComponent("clusters")
        try FileManager.default.createDirectory(at: clusters, withIntermediateDirectories: true)
        let file = clusters.appendingPathComponent("t.yaml")
        try SpecFixtures.base.write(to: file, atomically: true, encoding: .utf8)
        let error = try #require(throws: SpecError.self) { try SpecLoader.load(path: file.path) }
        let diagnostic = try #require(error.errors.first { $0.path == "talos.image" }, "\(error)")
        #expect(diagnostic.message.contains("cannot be resolved") && diagnostic.position == "4:10", "\(diagnostic)")
        // With the image definition beside it, the same spec loads and names a real schematic.
        try FileManager.default.copyItem(
            at: URL(fileURLWithPath: SpecFixtures.repositoryRoot).appendingPathComponent("images"), to: root.appendingPathComponent("images"))
        let loaded = try SpecLoader.load(path: file.path)
        #expect(loaded.spec.talos.schematicID.count == 64)
    }

    @Test("validate reports what gen config refuses: the home example switched to Talos 1.14")
    func homeOnTalos114() throws {
        let path = URL(fileURLWithPath: SpecFixtures.repositoryRoot).appendingPathComponent("clusters/home.yaml").path
        let text = try String(contentsOfFile: path, encoding: .utf8).replacingOccurrences(of: "version: v1.13.9", with: "version: v1.14.0")
        let error = try #require(throws: SpecError.self) {
            try SpecLoader.load(yaml: text, file: path, imagesDirectory: SpecFixtures.repositoryRoot + "/images")
        }
        // Each patch is refused at the patch or, more precisely, at the field 1.14 moved.
        let paths = error.errors.map(\.path)
        for patch in ["talos.patches[0]", "pools[1].patches[0]", "pools[2].patches[0]", "pools[2].nodePatches.home-big-1"] {
            #expect(paths.contains { $0 == patch || $0.hasPrefix(patch + ".") || $0.hasPrefix(patch + "[") }, "\(patch): \(error)")
        }
        #expect(error.errors.allSatisfy { $0.line > 0 && $0.column > 0 }, "\(error)")
    }
}

extension BadSpec {
    /// Loads ``SpecFixtures/base`` with the replacements and expects an error mentioning
    /// `fragment` at `position`, in `clusters/t.yaml`.
    func expectRefused() throws {
        let text = SpecFixtures.base(replacing: replacements)
        let error = try #require(throws: SpecError.self) { try SpecLoader.load(yaml: text, file: "clusters/t.yaml") }
        let matching = error.errors.filter { "\($0.message) \($0.hint ?? "")".contains(fragment) }
        #expect(!matching.isEmpty, "no error mentions \(fragment); got:\n\(error.description)")
        #expect(matching.contains { $0.position == position }, "expected at \(position); got:\n\(error.description)")
        #expect(matching.allSatisfy { $0.file == "clusters/t.yaml" && !$0.path.isEmpty || $0.path.isEmpty })
    }
}
