import ClusterKit
import ClusterTestSupport
import Foundation
import Provisioners
import Testing

/// TLS through libcurl against OpenSSL on loopback (``TLSLoopbackFront``: socat terminating TLS
/// with a throwaway self-signed certificate in front of a plain model): verification is always
/// on; a CA file makes it pass; a pin is checked on top, or alone for a self-signed server.
@Suite("HTTP client TLS verification against OpenSSL", .serialized)
struct HTTPTLSTests {
    /// A TLS server and the files a client configuration names.
    struct Server {
        let backend: HTTPLoopbackServer
        let front: TLSLoopbackFront
        let identity: TLSLoopbackFront.Identity
        let certificate: String
        let pin: String

        init(clientCAPEM: String? = nil) throws {
            backend = try HTTPLoopbackServer { request in
                .response(status: 200, headers: ["Content-Type": "text/plain"], body: Array("hello \(request.path)".utf8))
            }
            identity = try TLSLoopbackFront.Identity.selfSigned()
            front = try TLSLoopbackFront(backendPort: backend.port, identity: identity, clientCAPEM: clientCAPEM)
            certificate = FileManager.default.temporaryDirectory.appendingPathComponent("tls-\(UUID().uuidString).pem").path
            try Data(identity.certificatePEM.utf8).write(to: URL(fileURLWithPath: certificate))
            pin = try identity.publicKeyPin()
        }

        func stop() {
            front.stop()
            backend.stop()
            try? FileManager.default.removeItem(atPath: certificate)
        }

        func get(_ configuration: HTTPClientConfiguration) async throws -> HTTPResponse {
            let http = HTTPClient(transport: CurlHTTPTransport(configuration: configuration), retry: HTTPRetryPolicy(maxAttempts: 1), time: HTTPFastTimeSource())
            return try await http.send(HTTPRequest(method: .get, url: front.baseURL + "/x"))
        }
    }

    static let wrongPin = "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

    @Test("an untrusted certificate fails verification and is not retried")
    func untrusted() async throws {
        let server = try Server()
        defer { server.stop() }
        let error = await #expect(throws: HTTPError.self) { try await server.get(HTTPClientConfiguration(tls: .system)) }
        #expect(error?.code == .tls)
        #expect(error?.isTransient == false)
        #expect(error?.hint?.contains("verification stays on") == true)
    }

    @Test("a CA file makes it pass; a matching pin on top passes; a wrong pin fails")
    func caFileAndPin() async throws {
        let server = try Server()
        defer { server.stop() }
        let ok = try await server.get(HTTPClientConfiguration(tls: .caFile(server.certificate)))
        #expect(ok.status == 200)
        #expect(ok.bodyText == "hello /x")
        let pinned = try await server.get(HTTPClientConfiguration(tls: .caFile(server.certificate), pinnedPublicKey: server.pin))
        #expect(pinned.status == 200)
        let wrong = await #expect(throws: HTTPError.self) {
            try await server.get(HTTPClientConfiguration(tls: .caFile(server.certificate), pinnedPublicKey: Self.wrongPin))
        }
        #expect(wrong?.code == .tls)
        #expect(wrong?.curlCode == 90)
    }

    /// A stock Proxmox VE certificate is self-signed: no chain check can pass, and the pin of its
    /// exact key is what the user checked (like an SSH host key). So a pin alone is the whole trust.
    @Test("a pin alone trusts a self-signed certificate with that key; a wrong pin alone is refused")
    func pinAlone() async throws {
        let server = try Server()
        defer { server.stop() }
        let pinned = try await server.get(HTTPClientConfiguration(tls: .pinnedPublicKey(server.pin)))
        #expect(pinned.status == 200)
        let wrong = await #expect(throws: HTTPError.self) { try await server.get(HTTPClientConfiguration(tls: .pinnedPublicKey(Self.wrongPin))) }
        #expect(wrong?.code == .tls)
        #expect(wrong?.curlCode == 90)
        #expect(wrong?.isTransient == false)
    }

    @Test("a server that requires a client certificate refuses a client without one in the handshake")
    func clientCertificateRequired() async throws {
        let clientCA = try TLSLoopbackFront.Identity.selfSigned(commonName: "client-ca")
        let server = try Server(clientCAPEM: clientCA.certificatePEM)
        defer { server.stop() }
        await #expect(throws: HTTPError.self) { try await server.get(HTTPClientConfiguration(tls: .caFile(server.certificate))) }
    }
}
