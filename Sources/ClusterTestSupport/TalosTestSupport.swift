public import ClusterKit
public import Foundation

/// Helpers for the Talos config tests: a JSON Schema validator (python3 `jsonschema`, installed
/// by `.ci/setup.d/talos.sh`), the openssl CLI, and specs built in code. The reference data they
/// check against is found through ``ReferenceData``.
public enum TalosTestSupport {
    /// Whether the tests run under CI (`CI=true`), where a missing dependency fails instead of
    /// skipping.
    public static var isCI: Bool { ReferenceData.isCI }

    /// The result of running a tool.
    public struct ToolResult: Sendable {
        public var status: Int32
        public var output: String
        public var error: String
    }

    /// Runs `executable` (looked up on PATH) with `arguments`, feeding `input` on stdin.
    public static func run(_ executable: String, _ arguments: [String], input: Data? = nil) throws -> ToolResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [executable] + arguments
        let out = Pipe()
        let err = Pipe()
        let inPipe = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = inPipe
        try process.run()
        if let input { inPipe.fileHandleForWriting.write(input) }
        try inPipe.fileHandleForWriting.close()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return ToolResult(
            status: process.terminationStatus, output: String(decoding: outData, as: UTF8.self),
            error: String(decoding: errData, as: UTF8.self))
    }

    /// Whether python3 with `jsonschema` and `yaml` can be imported.
    public static var schemaValidatorAvailable: Bool {
        (try? run("python3", ["-c", "import jsonschema, yaml"]).status) == 0
    }

    public static var opensslAvailable: Bool { (try? run("openssl", ["version"]).status) == 0 }

    static let validatorScript = """
        import json, sys, yaml, jsonschema
        schema = json.load(open(sys.argv[1]))
        validator = jsonschema.validators.validator_for(schema)(schema)
        problems = []
        count = 0
        for index, document in enumerate(yaml.safe_load_all(sys.stdin.read())):
            if document is None:
                continue
            count += 1
            kind = document.get("kind", "v1alpha1") if isinstance(document, dict) else "?"
            for error in validator.iter_errors(document):
                best = jsonschema.exceptions.best_match([error])
                problems.append(f"document {index} ({kind}): {best.message[:300]} at {list(best.absolute_path)}")
        print(json.dumps({"documents": count, "problems": problems}))
        """

    /// Validates every document of a YAML stream against a JSON schema file; returns the number
    /// of documents validated and the problems found.
    public static func validate(yaml: String, schema: URL) throws -> (documents: Int, problems: [String]) {
        let result = try run("python3", ["-c", validatorScript, schema.path], input: Data(yaml.utf8))
        guard result.status == 0, let data = result.output.data(using: .utf8),
            let object = try JSONSerialization.jsonObject(with: data) as? [String: Any],
            let count = object["documents"] as? Int, let problems = object["problems"] as? [String]
        else {
            throw ValidatorFailure(message: "validator failed (\(result.status)): \(result.error.prefix(500))")
        }
        return (count, problems)
    }

    public struct ValidatorFailure: Error, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// A spec built in code: `controlPlanes` control planes in pool `cp`, `workers` workers in
    /// pool `workers` (labelled and tainted), on one simulator provider.
    public static func spec(
        talos: String = "v1.13.9", controlPlanes: Int = 3, workers: Int = 2, kubeSpan: Bool = true,
        discovery: Bool = true, endpoint: EndpointSpec.Kind = .dns("k8s.example.org"),
        clusterPatches: [ConfigPatch] = [], poolPatches: [ConfigPatch] = [], nodePatches: [String: [ConfigPatch]] = [:]
    ) -> ClusterSpec {
        let version = SemanticVersion(parsing: talos) ?? SemanticVersion(major: 1, minor: 13, patch: 9)
        // Force-unwraps are avoided: both CIDRs are literals known to parse.
        let pod = (try? CIDR(parsing: "10.244.0.0/16")).map { [$0] } ?? []
        let service = (try? CIDR(parsing: "10.96.0.0/12")).map { [$0] } ?? []
        return ClusterSpec(
            name: "home",
            talos: TalosSettings(version: version, image: "default", patches: clusterPatches, installDisk: "/dev/vda"),
            kubernetes: KubernetesSettings(version: SemanticVersion(major: 1, minor: 34, patch: 1)),
            endpoint: EndpointSpec(kind: endpoint),
            network: NetworkSpec(podCIDRs: pod, serviceCIDRs: service, kubeSpan: kubeSpan, discovery: discovery),
            providers: [ProviderSpec(name: "sim", settings: .simulator(SimulatorSettings(site: "lab")))],
            pools: [
                PoolSpec(name: "cp", role: .controlPlane, provider: "sim", count: controlPlanes, size: MachineSize(cpus: 2, memoryMiB: 4096, diskGiB: 40)),
                PoolSpec(
                    name: "workers", role: .worker, provider: "sim", count: workers, size: MachineSize(cpus: 4, memoryMiB: 8192, diskGiB: 80),
                    labels: ["topology.kubernetes.io/zone": "lab-1", "example.org/tier": "general"],
                    taints: [Taint(key: "dedicated", value: "batch", effect: .noSchedule)],
                    patches: poolPatches, nodePatches: nodePatches),
            ])
    }

    /// The nodes of a ``spec(talos:controlPlanes:workers:kubeSpan:discovery:endpoint:clusterPatches:poolPatches:nodePatches:)`` spec.
    public static func nodes(of spec: ClusterSpec) -> [NodeDescription] {
        var result: [NodeDescription] = []
        for pool in spec.pools {
            for index in 0..<pool.count {
                let name = "\(spec.name)-\(pool.name)-\(index + 1)"
                let octet = result.count + 10
                result.append(NodeDescription(
                    name: name, role: pool.role, pool: pool.name,
                    addresses: ["192.168.1.\(octet)", "10.0.0.\(octet)"],
                    installImage: ImageFactory.installerImage(
                        platform: "metal", schematicID: String(repeating: "ab", count: 32), talosVersion: spec.talos.version)))
            }
        }
        return result
    }
}
