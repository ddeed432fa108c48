import ClusterKit
import ClusterTestSupport
import Foundation
import Testing

@Suite("Talos client configs and the config writer")
struct TalosClientConfigTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    /// Writes everything for a spec whose endpoint is a floating IP that one control plane
    /// also lists as an address, so the talosconfig must leave it out.
    static func writeAll(version: String = "v1.14.0") throws -> (URL, ClusterConfigWriter.Output, [NodeDescription]) {
        let spec = TalosTestSupport.spec(talos: version, controlPlanes: 3, workers: 2, endpoint: .floatingIP(name: "ingress"))
        var nodes = TalosTestSupport.nodes(of: spec)
        nodes[0].addresses.insert("203.0.113.7", at: 0)
        let renderer = MachineConfigRenderer(spec: spec, secrets: try TalosFixture.secrets(), floatingIPAddress: "203.0.113.7")
        let directory = try TalosFixture.temporaryDirectory().appendingPathComponent("out")
        let output = try ClusterConfigWriter(renderer: renderer).write(nodes: nodes, to: directory, now: now)
        return (directory, output, nodes)
    }

    @Test("gen config writes every node's config, talosconfig and kubeconfig, all 0600, deterministically")
    func writer() throws {
        let (directory, output, nodes) = try Self.writeAll()
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        // For a person to inspect the output: TALOS_TEST_KEEP=/some/dir swift test --filter ...
        if let keep = ProcessInfo.processInfo.environment["TALOS_TEST_KEEP"] {
            try? FileManager.default.removeItem(atPath: keep)
            try FileManager.default.copyItem(at: directory, to: URL(fileURLWithPath: keep))
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        #expect(names == (nodes.map { "\($0.name).yaml" } + ["kubeconfig", "talosconfig"]).sorted())
        for name in names { #expect(try TalosFixture.mode(of: directory.appendingPathComponent(name)) == 0o600, "\(name)") }
        #expect(output.machineConfigs.count == nodes.count)
        let firstCP = try String(contentsOf: try #require(output.machineConfigs["home-cp-1"]), encoding: .utf8)
        let (again, secondOutput, _) = try Self.writeAll()
        defer { try? FileManager.default.removeItem(at: again.deletingLastPathComponent()) }
        #expect(try String(contentsOf: try #require(secondOutput.machineConfigs["home-cp-1"]), encoding: .utf8) == firstCP)
    }

    @Test("--node writes one machine config; unknown nodes are an error")
    func singleNode() throws {
        let spec = TalosTestSupport.spec(controlPlanes: 1, workers: 1)
        let renderer = MachineConfigRenderer(spec: spec, secrets: try TalosFixture.secrets())
        let directory = try TalosFixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let nodes = TalosTestSupport.nodes(of: spec)
        let output = try ClusterConfigWriter(renderer: renderer).write(nodes: nodes, to: directory, only: "home-workers-1")
        #expect(Array(output.machineConfigs.keys) == ["home-workers-1"])
        #expect(throws: ClusterError.self) { try ClusterConfigWriter(renderer: renderer).write(nodes: nodes, to: directory, only: "nope") }
    }

    @Test("talosconfig: context named after the cluster, control-plane endpoints only, os:admin cert valid a year")
    func talosconfig() throws {
        let (directory, output, nodes) = try Self.writeAll()
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        let tree = try YAMLTree.parse(String(contentsOf: output.talosconfig, encoding: .utf8))
        #expect(tree["context"]?.stringValue == "home")
        let context = try #require(tree.value(at: ["contexts", "home"]))
        let controlPlanes = nodes.filter { $0.role == .controlPlane }
        #expect(context["endpoints"] == .sequence(["192.168.1.10", "192.168.1.11", "192.168.1.12"].map(YAMLTree.string)))
        #expect(controlPlanes[0].addresses.first == "203.0.113.7", "the floating IP was a candidate and was skipped")
        guard case .sequence(let listed) = context["nodes"] ?? .null else {
            Issue.record("nodes missing")
            return
        }
        #expect(listed.count == nodes.count)
        let secrets = try TalosFixture.secrets()
        #expect(try TalosFixture.decodeBase64(context["ca"]?.stringValue) == secrets.osCA.certificatePEM)

        guard TalosFixture.require(TalosTestSupport.opensslAvailable, "openssl") else { return }
        let work = try TalosFixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: work) }
        let ca = try TalosFixture.file(secrets.osCA.certificatePEM, in: work, named: "ca.crt")
        let crt = try TalosFixture.file(try TalosFixture.decodeBase64(context["crt"]?.stringValue), in: work, named: "client.crt")
        let keyPEM = try TalosFixture.decodeBase64(context["key"]?.stringValue)
        #expect(keyPEM.hasPrefix("-----BEGIN ED25519 PRIVATE KEY-----"))
        let key = try TalosFixture.file(keyPEM.replacingOccurrences(of: "ED25519 PRIVATE KEY", with: "PRIVATE KEY"), in: work, named: "client.key")
        let verify = try TalosFixture.openssl(["verify", "-CAfile", ca.path, "-attime", "1800000100", "-purpose", "sslclient", crt.path])
        #expect(verify.status == 0, "\(verify.output) \(verify.error)")
        let text = try TalosFixture.openssl(["x509", "-in", crt.path, "-noout", "-text"]).output
        #expect(text.contains("Subject: O = os:admin"))
        #expect(text.contains("Issuer: O = talos"))
        #expect(text.contains("Not Before: Jan 15 07:59:50 2027 GMT"), "backdated 10 s")
        #expect(text.contains("Not After : Jan 15 08:00:00 2028 GMT"))
        #expect(text.contains("TLS Web Client Authentication") && !text.contains("CA:TRUE"))
        #expect(try TalosFixture.openssl(["pkey", "-in", key.path, "-noout", "-text"]).output.contains("ED25519 Private-Key"))
        let keyPub = try TalosFixture.openssl(["pkey", "-in", key.path, "-pubout"]).output
        #expect(keyPub == (try TalosFixture.openssl(["x509", "-in", crt.path, "-noout", "-pubkey"]).output))
        // Outside its validity window the certificate is refused.
        let late = try TalosFixture.openssl(["verify", "-CAfile", ca.path, "-attime", String(1_800_000_000 + 366 * 86400), crt.path])
        #expect(late.status != 0)
    }

    @Test("kubeconfig: admin@cluster, server is the endpoint, CN admin O system:masters signed by the Kubernetes CA")
    func kubeconfig() throws {
        let (directory, output, _) = try Self.writeAll()
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        let tree = try YAMLTree.parse(String(contentsOf: output.kubeconfig, encoding: .utf8))
        #expect(tree["apiVersion"]?.stringValue == "v1" && tree["kind"]?.stringValue == "Config")
        #expect(tree["current-context"]?.stringValue == "admin@home")
        guard case .sequence(let clusters) = tree["clusters"] ?? .null, case .sequence(let users) = tree["users"] ?? .null,
            case .sequence(let contexts) = tree["contexts"] ?? .null
        else {
            Issue.record("kubeconfig lists missing")
            return
        }
        #expect(clusters.first?.value(at: ["cluster", "server"])?.stringValue == "https://203.0.113.7:6443")
        #expect(clusters.first?["name"]?.stringValue == "home")
        #expect(contexts.first?["name"]?.stringValue == "admin@home")
        #expect(contexts.first?.value(at: ["context", "user"])?.stringValue == "admin@home")
        #expect(contexts.first?.value(at: ["context", "cluster"])?.stringValue == "home")
        let secrets = try TalosFixture.secrets()
        #expect(try TalosFixture.decodeBase64(clusters.first?.value(at: ["cluster", "certificate-authority-data"])?.stringValue) == secrets.kubernetesCA.certificatePEM)

        guard TalosFixture.require(TalosTestSupport.opensslAvailable, "openssl") else { return }
        let work = try TalosFixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: work) }
        let ca = try TalosFixture.file(secrets.kubernetesCA.certificatePEM, in: work, named: "ca.crt")
        let crt = try TalosFixture.file(try TalosFixture.decodeBase64(users.first?.value(at: ["user", "client-certificate-data"])?.stringValue), in: work, named: "admin.crt")
        let key = try TalosFixture.file(try TalosFixture.decodeBase64(users.first?.value(at: ["user", "client-key-data"])?.stringValue), in: work, named: "admin.key")
        let verify = try TalosFixture.openssl(["verify", "-CAfile", ca.path, "-attime", "1800000100", "-purpose", "sslclient", crt.path])
        #expect(verify.status == 0, "\(verify.output) \(verify.error)")
        let text = try TalosFixture.openssl(["x509", "-in", crt.path, "-noout", "-text"]).output
        #expect(text.contains("Subject: O = system:masters, CN = admin"))
        #expect(text.contains("Issuer: O = kubernetes"))
        #expect(text.contains("Not Before: Jan 15 07:59:50 2027 GMT"), "backdated 10 s")
        #expect(text.contains("Not After : Jan 15 08:00:00 2028 GMT"))
        #expect(text.contains("ASN1 OID: prime256v1"))
        let keyText = try TalosFixture.openssl(["pkey", "-in", key.path, "-noout", "-text"]).output
        #expect(keyText.contains("Private-Key: (256 bit)"))
        #expect(try TalosFixture.openssl(["pkey", "-in", key.path, "-pubout"]).output == (try TalosFixture.openssl(["x509", "-in", crt.path, "-noout", "-pubkey"]).output))
        // Signed by the Kubernetes CA, not the OS CA.
        let osCA = try TalosFixture.file(secrets.osCA.certificatePEM, in: work, named: "os.crt")
        #expect(try TalosFixture.openssl(["verify", "-CAfile", osCA.path, "-attime", "1800000100", crt.path]).status != 0)
    }
}
