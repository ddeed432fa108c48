import ClusterKit
import ClusterTestSupport
import Foundation
import Provisioners
import Testing

/// The TLS front the HTTPS model tests stand on: OpenSSL (through socat) really terminates TLS,
/// so libcurl's verification is exercised against a server it did not write.
@Suite("TLS loopback front (socat + OpenSSL)", .serialized)
struct TLSLoopbackFrontTests {
    static func backend() throws -> HTTPLoopbackServer {
        try HTTPLoopbackServer { request in .response(status: 200, headers: ["Content-Type": "text/plain"], body: Array("hello \(request.path)".utf8)) }
    }

    func get(_ url: String, _ configuration: HTTPClientConfiguration) async throws -> HTTPResponse {
        let http = HTTPClient(transport: CurlHTTPTransport(configuration: configuration), retry: HTTPRetryPolicy(maxAttempts: 1), time: HTTPFastTimeSource())
        return try await http.send(HTTPRequest(method: .get, url: url))
    }

    @Test("a self-signed front is refused by default and trusted through its certificate as CA file")
    func selfSigned() async throws {
        let server = try Self.backend()
        let identity = try TLSLoopbackFront.Identity.selfSigned()
        let front = try TLSLoopbackFront(backendPort: server.port, identity: identity)
        defer { front.stop() }
        let refused = await #expect(throws: HTTPError.self) { try await get(front.baseURL + "/x", HTTPClientConfiguration(tls: .system)) }
        #expect(refused?.code == .tls)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tls-front-\(UUID().uuidString).pem")
        try Data(identity.certificatePEM.utf8).write(to: directory)
        defer { try? FileManager.default.removeItem(at: directory) }
        let ok = try await get(front.baseURL + "/x", HTTPClientConfiguration(tls: .caFile(directory.path)))
        #expect(ok.status == 200)
        #expect(String(decoding: ok.body, as: UTF8.self) == "hello /x")
    }

    @Test("the pin the front reports is the key the server presents")
    func pinMatches() async throws {
        let server = try Self.backend()
        let identity = try TLSLoopbackFront.Identity.selfSigned()
        let front = try TLSLoopbackFront(backendPort: server.port, identity: identity)
        defer { front.stop() }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("tls-front-\(UUID().uuidString).pem")
        try Data(identity.certificatePEM.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let pinned = try await get(front.baseURL, HTTPClientConfiguration(tls: .caFile(file.path), pinnedPublicKey: try identity.publicKeyPin()))
        #expect(pinned.status == 200)
        let other = try TLSLoopbackFront.Identity.selfSigned()
        await #expect(throws: HTTPError.self) {
            try await get(front.baseURL, HTTPClientConfiguration(tls: .caFile(file.path), pinnedPublicKey: try other.publicKeyPin()))
        }
    }

    @Test("with a client CA, a client without a certificate is refused in the handshake")
    func clientCertificateRequired() async throws {
        let server = try Self.backend()
        let identity = try TLSLoopbackFront.Identity.selfSigned()
        let clientCA = try TLSLoopbackFront.Identity.selfSigned(commonName: "client-ca")
        let front = try TLSLoopbackFront(backendPort: server.port, identity: identity, clientCAPEM: clientCA.certificatePEM)
        defer { front.stop() }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("tls-front-\(UUID().uuidString).pem")
        try Data(identity.certificatePEM.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        await #expect(throws: HTTPError.self) { try await get(front.baseURL, HTTPClientConfiguration(tls: .caFile(file.path))) }
    }
}
