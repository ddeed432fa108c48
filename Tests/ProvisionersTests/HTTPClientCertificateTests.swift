import ClusterKit
import ClusterTestSupport
import Foundation
import Provisioners
import Testing

/// Client-certificate TLS in the HTTP layer: the CA and the client certificate and key go to
/// libcurl as in-memory PEM blobs, against OpenSSL (socat) requiring a certificate from that CA.
@Suite("HTTP client certificates", .serialized)
struct HTTPClientCertificateTests {
    static let secrets = Result { try SecretsBundle.generate(talosVersion: SemanticVersion(major: 1, minor: 6, patch: 0), now: Date().addingTimeInterval(-300)) }

    func get(_ url: String, _ configuration: HTTPClientConfiguration) async throws -> HTTPResponse {
        let http = HTTPClient(transport: CurlHTTPTransport(configuration: configuration), retry: .none, time: HTTPFastTimeSource())
        return try await http.send(HTTPRequest(method: .get, url: url))
    }

    @Test("a client certificate and CA given as PEM data open a server that requires them")
    func blobs() async throws {
        let secrets = try Self.secrets.get()
        let server = try HTTPLoopbackServer { request in .response(status: 200, headers: [:], body: Array("hello \(request.path)".utf8)) }
        defer { server.stop() }
        let front = try TLSLoopbackFront(
            backendPort: server.port, identity: try KubernetesAPIPeer.servingIdentity(signedBy: secrets.kubernetesCA),
            clientCAPEM: secrets.kubernetesCA.certificatePEM)
        defer { front.stop() }
        let kubeconfig = try Kubeconfig(
            parsing: try ClientConfigs.kubeconfig(cluster: "x", server: front.baseURL, secrets: secrets, now: Date().addingTimeInterval(-60)))
        let identity = PEMCertificateAndKey(certificatePEM: kubeconfig.clientCertificatePEM, keyPEM: kubeconfig.clientKeyPEM)

        let ok = try await get(
            front.baseURL + "/x", HTTPClientConfiguration(certificateAuthorityPEM: secrets.kubernetesCA.certificatePEM, clientIdentity: identity))
        #expect(ok.bodyText == "hello /x")

        // Without the CA the server's certificate is not trusted: verification stays on.
        let untrusted = await #expect(throws: HTTPError.self) { try await get(front.baseURL, HTTPClientConfiguration(clientIdentity: identity)) }
        #expect(untrusted?.code == .tls)
        // Trusting another CA does not trust this server.
        let other = try SecretsBundle.generate(talosVersion: SemanticVersion(major: 1, minor: 6, patch: 0))
        let foreign = await #expect(throws: HTTPError.self) {
            try await get(front.baseURL, HTTPClientConfiguration(certificateAuthorityPEM: other.kubernetesCA.certificatePEM, clientIdentity: identity))
        }
        #expect(foreign?.code == .tls)
    }

    @Test("the configuration never shows the key")
    func redacted() throws {
        let identity = PEMCertificateAndKey(certificatePEM: "-----BEGIN CERTIFICATE-----", keyPEM: "-----BEGIN EC PRIVATE KEY-----secret")
        let configuration = HTTPClientConfiguration(clientIdentity: identity)
        #expect(!String(describing: configuration).contains("secret"))
        #expect(!String(reflecting: configuration).contains("secret"))
    }
}
