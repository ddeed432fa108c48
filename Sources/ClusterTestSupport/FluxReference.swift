public import Foundation

/// The official Flux reference data in ../shared/reference/flux (see its SOURCE.md): the
/// bootstrap layout of a real `flux bootstrap git --path=clusters/home` and the v1 CRDs, with a
/// validator for objects against a CRD's `openAPIV3Schema`.
public enum FluxReference {
    /// The reference files the Flux tests read, for `.requiresReference(files:)`.
    public static let files = [
        "flux/crds/source.toolkit.fluxcd.io_gitrepositories.yaml", "flux/crds/kustomize.toolkit.fluxcd.io_kustomizations.yaml",
        "flux/bootstrap-layout/clusters/home/flux-system/gotk-sync.yaml",
        "flux/bootstrap-layout/clusters/home/flux-system/kustomization.yaml",
        "flux/bootstrap-layout/clusters/home/flux-system/gotk-components.yaml",
    ]

    /// A file of the reference bootstrap layout (`clusters/home/flux-system/<name>`).
    public static func layoutFile(_ name: String) throws -> String {
        try String(contentsOf: try ReferenceData.require("flux/bootstrap-layout/clusters/home/flux-system/\(name)"), encoding: .utf8)
    }

    /// The path of a reference file below `flux/`.
    public static func path(_ relative: String) throws -> String {
        try ReferenceData.require("flux/\(relative)").path
    }

    /// Validates every document of `yaml` whose kind is the CRD's against `spec.versions[name=v1]`'s
    /// `openAPIV3Schema`. Objects with `properties` get `additionalProperties: false` unless they
    /// preserve unknown fields, as the API server's strict field validation rejects unknown
    /// fields; so a misspelt field fails here too. Returns the number of documents checked and
    /// the problems found.
    public static func validate(yaml: String, crd: String) throws -> (documents: Int, problems: [String]) {
        let result = try TalosTestSupport.run("python3", ["-c", validatorScript, try path(crd)], input: Data(yaml.utf8))
        guard result.status == 0, let data = result.output.data(using: .utf8),
            let object = try JSONSerialization.jsonObject(with: data) as? [String: Any],
            let count = object["documents"] as? Int, let problems = object["problems"] as? [String]
        else {
            throw TestSupportError("CRD validator failed (\(result.status)): \(result.error.prefix(500))")
        }
        return (count, problems)
    }

    static let validatorScript = """
        import json, sys, yaml, jsonschema
        crd = yaml.safe_load(open(sys.argv[1]))
        version = next(v for v in crd["spec"]["versions"] if v["name"] == "v1")
        schema = version["schema"]["openAPIV3Schema"]
        def strict(node):
            if isinstance(node, dict):
                if node.get("type") == "object" and "properties" in node and "additionalProperties" not in node \\
                        and not node.get("x-kubernetes-preserve-unknown-fields"):
                    node["additionalProperties"] = False
                for value in node.values():
                    strict(value)
            elif isinstance(node, list):
                for value in node:
                    strict(value)
        strict(schema)
        # metadata is validated by the API server itself, not by the CRD schema.
        schema.setdefault("properties", {})["metadata"] = {"type": "object"}
        validator = jsonschema.Draft7Validator(schema)
        kind = crd["spec"]["names"]["kind"]
        group = crd["spec"]["group"]
        problems, count = [], 0
        for index, document in enumerate(yaml.safe_load_all(sys.stdin.read())):
            if not isinstance(document, dict) or document.get("kind") != kind or document.get("apiVersion") != group + "/v1":
                continue
            count += 1
            for error in validator.iter_errors(document):
                problems.append(f"document {index} ({kind}): {error.message[:300]} at {list(error.absolute_path)}")
        print(json.dumps({"documents": count, "problems": problems}))
        """
}
