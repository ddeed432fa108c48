import ClusterKit
import Foundation
import Testing

@Suite("Kubeconfig parsing")
struct KubeconfigTests {
    static let secrets = Result { try SecretsBundle.generate(talosVersion: SemanticVersion(major: 1, minor: 6, patch: 0), now: Date()) }

    static func written(server: String = "https://203.0.113.7:6443") throws -> String {
        try ClientConfigs.kubeconfig(cluster: "home", server: server, secrets: try secrets.get(), now: Date())
    }

    /// The text with one line replaced (or removed, with nil).
    static func edited(_ text: String, _ match: String, _ replacement: String?) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).compactMap { line -> String? in
            guard line.contains(match) else { return String(line) }
            return replacement.map { line.replacingOccurrences(of: line.trimmingCharacters(in: .whitespaces), with: $0) }
        }.joined(separator: "\n")
    }

    static func failure(_ text: String) -> String {
        do {
            _ = try Kubeconfig(parsing: text, source: "kube.yaml")
            return "no error"
        } catch {
            return error.description
        }
    }

    @Test("the admin kubeconfig clusterctl writes reads back: server, Kubernetes CA, client certificate and key")
    func roundTrip() throws {
        let config = try Kubeconfig(parsing: try Self.written())
        let secrets = try Self.secrets.get()
        #expect(config.context == "admin@home")
        #expect(config.server == "https://203.0.113.7:6443")
        #expect(config.certificateAuthorityPEM == secrets.kubernetesCA.certificatePEM)
        #expect(config.clientCertificatePEM.contains("BEGIN CERTIFICATE"))
        #expect(config.clientKeyPEM.contains("PRIVATE KEY"))
        #expect(!config.description.contains("PRIVATE"))
        #expect(!String(reflecting: config).contains("PRIVATE"))
    }

    @Test("a kubeconfig without current-context falls back on its only context")
    func onlyContext() throws {
        let text = Self.edited(try Self.written(), "current-context", nil)
        #expect(try Kubeconfig(parsing: text).context == "admin@home")
    }

    @Test(
        "missing or wrong fields are named",
        arguments: [
            ("server:", nil, "clusters[home].cluster.server is missing"),
            ("server:", "server: http://203.0.113.7:6443", "must be an https:// URL"),
            ("certificate-authority-data", nil, "clusters[home].cluster.certificate-authority-data is missing"),
            ("certificate-authority-data", "certificate-authority-data: bm90IHBlbQ==", "certificate-authority-data is not a PEM certificate"),
            ("client-certificate-data", nil, "users[admin@home].user.client-certificate-data is missing"),
            ("client-key-data", nil, "users[admin@home].user.client-key-data is missing"),
            ("client-key-data", "client-key-data: '%%%'", "client-key-data is not base64"),
            ("client-certificate-data", "client-certificate: /etc/kubernetes/admin.crt", "refers to a file instead"),
            ("current-context", "current-context: elsewhere", "`contexts` has no entry named \"elsewhere\""),
            ("certificate-authority-data", "insecure-skip-tls-verify: true", "insecure-skip-tls-verify is true"),
        ] as [(String, String?, String)])
    func fieldErrors(match: String, replacement: String?, expected: String) throws {
        let message = Self.failure(Self.edited(try Self.written(), match, replacement))
        #expect(message.contains(expected), "\(message)")
        #expect(message.hasPrefix("kube.yaml: "))
        #expect(!message.contains("BEGIN"))
    }

    @Test("a client key that does not belong to the certificate is refused")
    func mismatchedKey() throws {
        let other = try ClientConfigs.kubeconfig(cluster: "home", server: "https://203.0.113.7:6443", secrets: try Self.secrets.get(), now: Date())
        let otherKey = try #require(other.split(separator: "\n").first { $0.contains("client-key-data") })
        let text = Self.edited(try Self.written(), "client-key-data", otherKey.trimmingCharacters(in: .whitespaces))
        #expect(Self.failure(text).contains("client-key-data does not belong to client-certificate-data"))
    }

    @Test("not YAML, or a token user, is refused with a reason")
    func otherShapes() throws {
        #expect(Self.failure("{ not yaml").contains("is not valid YAML"))
        let token = Self.edited(Self.edited(try Self.written(), "client-key-data", nil), "client-certificate-data", "token: abc")
        #expect(Self.failure(token).contains("authenticates with a token"))
    }
}
