import ClusterKit
import ClusterTestSupport
import Foundation
import Provisioners
import Testing

/// TLS through libcurl against `openssl s_server` on loopback with a throwaway self-signed
/// certificate: verification is always on; a CA file makes it pass; a pin is checked on top of
/// it, or is the whole trust when given alone.
@Suite("HTTP client TLS verification against openssl s_server", .serialized)
struct HTTPTLSTests {
    struct TLSServer {
        let directory: URL
        let process: Process
        let port: Int
        var certificate: String { directory.appendingPathComponent("cert.pem").path }
        let pin: String

        func stop() {
            // SIGKILL: a child spawned from a dispatch thread inherits its blocked SIGTERM.
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            try? FileManager.default.removeItem(at: directory)
        }
    }

    @discardableResult
    static func run(_ arguments: [String], in directory: URL) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.currentDirectoryURL = directory
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw ClusterError(.io, "\(arguments.joined(separator: " ")) failed") }
        return data
    }

    static func start() throws -> TLSServer? {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl") else {
            if ProcessInfo.processInfo.environment["CI"] == "true" { Issue.record("openssl CLI missing") }
            return nil
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "key.pem", "-out",
             "cert.pem", "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], in: directory)
        // sha256 of the DER SubjectPublicKeyInfo, base64: the form CURLOPT_PINNEDPUBLICKEY takes.
        let der = try run(["openssl", "pkey", "-in", "key.pem", "-pubout", "-outform", "DER"], in: directory)
        try der.write(to: directory.appendingPathComponent("pub.der"))
        let digest = try run(["openssl", "dgst", "-sha256", "-binary", "pub.der"], in: directory)
        let pin = "sha256//" + digest.base64EncodedString()
        for _ in 0..<20 {
            let port = Int.random(in: 20000..<60000)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
            process.arguments = ["s_server", "-accept", "127.0.0.1:\(port)", "-cert", "cert.pem", "-key", "key.pem", "-www", "-quiet"]
            process.currentDirectoryURL = directory
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            process.standardInput = FileHandle.nullDevice
            try process.run()
            // Wait until it listens (or died because the port was taken).
            for _ in 0..<50 where process.isRunning {
                let probe = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
                var address = sockaddr_in()
                address.sin_family = sa_family_t(AF_INET)
                address.sin_port = in_port_t(UInt16(port).bigEndian)
                address.sin_addr.s_addr = inet_addr("127.0.0.1")
                let connected = withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(probe, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                }
                close(probe)
                if connected == 0 { return TLSServer(directory: directory, process: process, port: port, pin: pin) }
                usleep(100_000)
            }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
        throw ClusterError(.io, "openssl s_server did not start")
    }

    func get(_ server: TLSServer, _ configuration: HTTPClientConfiguration) async throws -> HTTPResponse {
        let http = HTTPClient(transport: CurlHTTPTransport(configuration: configuration), retry: HTTPRetryPolicy(maxAttempts: 1), time: HTTPFastTimeSource())
        return try await http.send(HTTPRequest(method: .get, url: "https://127.0.0.1:\(server.port)/"))
    }

    @Test("an untrusted certificate fails verification and is not retried")
    func untrusted() async throws {
        guard let server = try Self.start() else { return }
        defer { server.stop() }
        let error = await #expect(throws: HTTPError.self) { try await get(server, HTTPClientConfiguration(tls: .system)) }
        #expect(error?.code == .tls)
        #expect(error?.isTransient == false)
        #expect(error?.hint?.contains("verification stays on") == true)
    }

    @Test("a CA file makes it pass; a matching pin on top passes; a wrong pin fails")
    func caFileAndPin() async throws {
        guard let server = try Self.start() else { return }
        defer { server.stop() }
        let ok = try await get(server, HTTPClientConfiguration(tls: .caFile(server.certificate)))
        #expect(ok.status == 200)
        let pinned = try await get(server, HTTPClientConfiguration(tls: .caFile(server.certificate), pinnedPublicKey: server.pin))
        #expect(pinned.status == 200)
        let wrong = await #expect(throws: HTTPError.self) {
            try await get(server, HTTPClientConfiguration(tls: .caFile(server.certificate), pinnedPublicKey: "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="))
        }
        #expect(wrong?.code == .tls)
        #expect(wrong?.curlCode == 90)
    }

    /// A stock Proxmox VE certificate is self-signed: no chain check can pass, and the pin of its
    /// exact key is what the user checked (like an SSH host key). So a pin alone is the whole trust.
    @Test("a pin alone trusts a self-signed certificate with that key; a wrong pin alone is refused")
    func pinAlone() async throws {
        guard let server = try Self.start() else { return }
        defer { server.stop() }
        let pinned = try await get(server, HTTPClientConfiguration(tls: .pinnedPublicKey(server.pin)))
        #expect(pinned.status == 200)
        let wrong = await #expect(throws: HTTPError.self) {
            try await get(server, HTTPClientConfiguration(tls: .pinnedPublicKey("sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")))
        }
        #expect(wrong?.code == .tls)
        #expect(wrong?.curlCode == 90)
        #expect(wrong?.isTransient == false)
    }
}
