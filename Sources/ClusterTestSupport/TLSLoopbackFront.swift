import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A real TLS server on 127.0.0.1 in front of a plain loopback server (an ``HTTPLoopbackServer``
/// model, say): `socat` with OpenSSL terminates TLS and forwards the bytes.
///
/// TLS is OpenSSL's own, not ours, so a client under test meets what it would meet in the field:
/// a self-signed certificate (a fresh Proxmox VE install), or a server that requires a client
/// certificate signed by a given CA (the Kubernetes API server). socat's `verify=1` with a
/// `cafile` requests the client certificate and fails the handshake when none or a foreign one is
/// presented (socat's OPENSSL-LISTEN documentation, "verify" and "cafile"). `.ci/setup.d/tls.sh`
/// installs socat and openssl.
public final class TLSLoopbackFront: @unchecked Sendable {
    /// A server certificate and its key, PEM.
    public struct Identity: Sendable {
        public var certificatePEM: String
        public var keyPEM: String

        public init(certificatePEM: String, keyPEM: String) {
            self.certificatePEM = certificatePEM
            self.keyPEM = keyPEM
        }

        /// A throwaway self-signed ECDSA P-256 certificate for `127.0.0.1`, made by the openssl CLI.
        public static func selfSigned(commonName: String = "127.0.0.1") throws -> Identity {
            let directory = try TLSLoopbackFront.makeTemporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let key = directory.appendingPathComponent("key.pem").path
            let certificate = directory.appendingPathComponent("cert.pem").path
            try ChildProcess.run(
                "/usr/bin/openssl",
                ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", certificate,
                 "-days", "2", "-subj", "/CN=\(commonName)", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"])
            return Identity(
                certificatePEM: try String(contentsOfFile: certificate, encoding: .utf8), keyPEM: try String(contentsOfFile: key, encoding: .utf8))
        }

        /// The pin libcurl's `CURLOPT_PINNEDPUBLICKEY` takes: `sha256//` and the base64 SHA-256 of
        /// the DER SubjectPublicKeyInfo (computed by the openssl CLI, independently of our code).
        public func publicKeyPin() throws -> String {
            let directory = try TLSLoopbackFront.makeTemporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let key = directory.appendingPathComponent("key.pem").path
            let der = directory.appendingPathComponent("pub.der").path
            let digest = directory.appendingPathComponent("digest").path
            try TLSLoopbackFront.writePrivate(keyPEM, to: key)
            try ChildProcess.run("/usr/bin/openssl", ["pkey", "-in", key, "-pubout", "-outform", "DER", "-out", der])
            try ChildProcess.run("/usr/bin/openssl", ["dgst", "-sha256", "-binary", "-out", digest, der])
            return "sha256//" + (try Data(contentsOf: URL(fileURLWithPath: digest))).base64EncodedString()
        }
    }

    public let port: Int
    /// The loopback address it listens on.
    public let host: String
    public var baseURL: String { "https://\(host):\(port)" }
    private let process: ChildProcess
    private let directory: URL

    /// Starts TLS on a free loopback port, forwarding to `backendPort` on 127.0.0.1.
    ///
    /// - Parameters:
    ///   - clientCAPEM: when set, a client certificate signed by this CA is required.
    ///   - host: the 127/8 address to listen on.
    ///   - port: the port to listen on; nil picks a free one.
    public init(backendPort: Int, identity: Identity, clientCAPEM: String? = nil, host: String = "127.0.0.1", port fixedPort: Int? = nil) throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/socat") else {
            throw TestSupportError("socat is missing: run .ci/setup.d/tls.sh (apt-get install socat)")
        }
        let directory = try Self.makeTemporaryDirectory()
        let certificate = directory.appendingPathComponent("server.pem").path
        let key = directory.appendingPathComponent("server.key").path
        try Self.writePrivate(identity.certificatePEM, to: certificate)
        try Self.writePrivate(identity.keyPEM, to: key)
        var options = ["reuseaddr", "fork", "bind=\(host)", "cert=\(certificate)", "key=\(key)"]
        if let clientCAPEM {
            let ca = directory.appendingPathComponent("client-ca.pem").path
            try Self.writePrivate(clientCAPEM, to: ca)
            options += ["cafile=\(ca)", "verify=1"]
        } else {
            options.append("verify=0")
        }
        let log = directory.appendingPathComponent("socat.log").path
        for _ in 0..<(fixedPort == nil ? 20 : 1) {
            let port = try fixedPort ?? Self.freePort()
            let child = try ChildProcess.spawn(
                "/usr/bin/socat", ["OPENSSL-LISTEN:\(port)," + options.joined(separator: ","), "TCP:127.0.0.1:\(backendPort)"], outputFile: log)
            if Self.waitUntilListening(host: host, port: port, while: { child.isRunning }) {
                self.host = host
                self.port = port
                self.process = child
                self.directory = directory
                return
            }
            child.signal(SIGKILL)
            child.wait()
        }
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        try? FileManager.default.removeItem(at: directory)
        throw TestSupportError("socat did not start listening: \(output)")
    }

    deinit { stop() }

    /// Stops the TLS server and removes its key material.
    public func stop() {
        // socat forks a child per connection; they end when their connection does.
        process.signal(SIGKILL)
        process.wait()
        try? FileManager.default.removeItem(at: directory)
    }

    static func makeTemporaryDirectory() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("clusterctl-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        return directory
    }

    static func writePrivate(_ text: String, to path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw TestSupportError("cannot write \(path)")
        }
    }

    /// A port the kernel just handed out for an ephemeral bind; socat binds it a moment later
    /// (a race with other binds is retried by the caller).
    private static func freePort() throws -> Int {
        #if canImport(Glibc)
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
            let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw TestSupportError("socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0 else { throw TestSupportError("bind: \(String(cString: strerror(errno)))") }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    private static func waitUntilListening(host: String, port: Int, while alive: () -> Bool) -> Bool {
        for _ in 0..<100 where alive() {
            #if canImport(Glibc)
                let probe = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            #else
                let probe = socket(AF_INET, SOCK_STREAM, 0)
            #endif
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr(host)
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(probe, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            close(probe)
            if connected == 0 { return true }
            usleep(50_000)
        }
        return false
    }
}
