import Foundation
import Testing
import ClusterTestSupport

/// Checks recorded traffic against Hetzner's OpenAPI document with Python `jsonschema`
/// (Draft 2020-12, which OpenAPI 3.1 schemas are): path and method exist, query parameters are
/// declared, request bodies valid against `requestBody`, 2xx response bodies against the
/// documented response schema. Installed by .ci/setup.d/hetzner.sh.
enum HetznerSpecValidator {
    struct Outcome: Decodable {
        var checked: Int
        var errors: [String]
    }

    /// Nil (with a reason) when python3 jsonschema is missing here; fails the test under CI=true.
    /// Throws ``ReferenceData/Missing`` without the OpenAPI document (the test carries
    /// `.requiresReference`, so that happens only under CI).
    static func validate(_ records: [HetznerRecordedRequest]) throws -> Outcome? {
        let ci = ProcessInfo.processInfo.environment["CI"] == "true"
        let openAPI = try ReferenceData.require(ReferenceData.hetznerOpenAPI)
        let check = Process()
        check.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        check.arguments = ["python3", "-c", "import jsonschema"]
        check.standardError = FileHandle.nullDevice
        try? check.run()
        check.waitUntilExit()
        guard check.terminationStatus == 0 else {
            if ci { Issue.record("python3 with jsonschema is missing; run .ci/setup.d/hetzner.sh") }
            print("skipping OpenAPI validation: python3 jsonschema not installed (.ci/setup.d/hetzner.sh installs it)")
            return nil
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hetzner-spec-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let script = directory.appendingPathComponent("validate.py")
        let recordsFile = directory.appendingPathComponent("records.json")
        try Data(script_.utf8).write(to: script)
        try JSONEncoder().encode(records).write(to: recordsFile)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path, openAPI.path, recordsFile.path]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "validator crashed")
        return try JSONDecoder().decode(Outcome.self, from: data)
    }

    static let script_ = #"""
    import json, re, sys
    from jsonschema import Draft202012Validator
    spec = json.load(open(sys.argv[1]))
    records = json.load(open(sys.argv[2]))
    prefix = "/v1"
    templates = []
    for path, item in spec["paths"].items():
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", re.escape(path).replace(r"\{", "{").replace(r"\}", "}")) + "$"
        templates.append((path.count("{"), re.compile(pattern), path, item))
    templates.sort(key=lambda t: t[0])
    def resolve(node):
        while isinstance(node, dict) and "$ref" in node:
            target = spec
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part]
            node = target
        return node
    def validator(schema):
        root = dict(schema)
        root["components"] = spec["components"]
        return Draft202012Validator(root)
    errors = []
    checked = 0
    for index, record in enumerate(records):
        method, path = record["method"].lower(), record["path"]
        where = f"#{index} {record['method']} {path}"
        if not path.startswith(prefix):
            errors.append(f"{where}: path outside {prefix}"); continue
        rel = path[len(prefix):]
        match = next(((p, item) for _, rx, p, item in templates if rx.match(rel)), None)
        if match is None:
            errors.append(f"{where}: no such path in the spec"); continue
        template, item = match
        operation = item.get(method)
        if operation is None:
            errors.append(f"{where}: method not allowed on {template}"); continue
        params = [resolve(p) for p in item.get("parameters", []) + operation.get("parameters", [])]
        names = {p["name"] for p in params if p.get("in") == "query"}
        for name, value in record["query"]:
            if name not in names:
                errors.append(f"{where}: query parameter {name} not in the spec")
        for p in params:
            if p.get("in") == "query" and p.get("required") and p["name"] not in {n for n, _ in record["query"]}:
                errors.append(f"{where}: required query parameter {p['name']} missing")
        body = record.get("body")
        request_body = operation.get("requestBody")
        if body:
            if not request_body:
                errors.append(f"{where}: body sent but the operation takes none")
            else:
                schema = resolve(request_body)["content"]["application/json"]["schema"]
                for e in validator(resolve(schema)).iter_errors(json.loads(body)):
                    errors.append(f"{where}: request body: {'/'.join(map(str, e.absolute_path))}: {e.message}")
        elif request_body and resolve(request_body).get("required"):
            errors.append(f"{where}: required request body missing")
        status = record["status"]
        if 200 <= status < 300 and record.get("response"):
            responses = operation.get("responses", {})
            response = resolve(responses.get(str(status)) or responses.get("2XX") or {})
            content = response.get("content", {}).get("application/json")
            if content is None:
                errors.append(f"{where}: status {status} not documented with a JSON body")
            else:
                for e in validator(resolve(content["schema"])).iter_errors(json.loads(record["response"])):
                    errors.append(f"{where}: response: {'/'.join(map(str, e.absolute_path))}: {e.message[:200]}")
        elif status >= 400 and record.get("response"):
            body = json.loads(record["response"])
            err = body.get("error", {})
            if not isinstance(err.get("code"), str) or not isinstance(err.get("message"), str):
                errors.append(f"{where}: error response lacks error.code/message")
        checked += 1
    print(json.dumps({"checked": checked, "errors": errors}))
    """#
}
