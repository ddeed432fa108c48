public import ClusterKit
public import Foundation

/// A Kubernetes API server on loopback as a client meets one: TLS from OpenSSL (socat, through
/// ``TLSLoopbackFront``) with a serving certificate signed by the cluster's Kubernetes CA, a
/// client certificate signed by that same CA required in the handshake, and the
/// ``KubernetesAPIModel`` behind it.
///
/// Where it differs from kube-apiserver: the real server only *requests* a client certificate
/// (`tls.RequestClientCert`, k8s.io/apiserver `secure_serving.go`) and verifies it in its x509
/// authenticator, answering 401 Unauthorized for a foreign certificate and treating no
/// certificate as `system:anonymous` (403 on nodes, `/readyz` still open). socat cannot tell the
/// model who the client is, so this peer refuses both in the handshake instead; the client treats
/// either answer as a failure that waiting will not fix.
public final class KubernetesAPIPeer: @unchecked Sendable {
    public let model: KubernetesAPIModel
    public let front: TLSLoopbackFront
    public let secrets: SecretsBundle

    /// `https://127.0.0.1:<port>`.
    public var server: String { front.baseURL }

    /// - Parameters:
    ///   - host: the 127/8 address to serve on (a cluster endpoint's address, say).
    ///   - port: the port to serve on (6443, say); nil picks a free one.
    public init(
        secrets: SecretsBundle, host: String = "127.0.0.1", port: Int? = nil, now: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }
    ) throws {
        self.secrets = secrets
        model = try KubernetesAPIModel(now: now)
        do {
            front = try TLSLoopbackFront(
                backendPort: model.port, identity: try Self.servingIdentity(signedBy: secrets.kubernetesCA, address: host),
                clientCAPEM: secrets.kubernetesCA.certificatePEM, host: host, port: port)
        } catch {
            model.stop()
            throw error
        }
    }

    deinit { stop() }

    public func stop() {
        front.stop()
        model.stop()
    }

    /// An admin kubeconfig for this server, as clusterctl writes it (client certificate
    /// `CN=admin, O=system:masters` from the Kubernetes CA), parsed. Backdated a minute by default:
    /// a certificate valid from "now", rounded to whole seconds, may not be valid yet when OpenSSL
    /// checks it a moment later (Talos backdates its own by 10 s).
    public func adminKubeconfig(now: Date = Date().addingTimeInterval(-60)) throws -> Kubeconfig {
        try Kubeconfig(parsing: try ClientConfigs.kubeconfig(cluster: "peer", server: server, secrets: secrets, now: now), source: "the peer's kubeconfig")
    }

    /// A serving certificate for 127.0.0.1 signed by `ca`, made by the openssl CLI (independent
    /// of our PKI code): ECDSA P-256, server auth, SANs `IP:127.0.0.1` and `DNS:localhost`, as
    /// kube-apiserver's certificate names the addresses clients use.
    public static func servingIdentity(signedBy ca: PEMCertificateAndKey, address: String = "127.0.0.1") throws -> TLSLoopbackFront.Identity {
        let directory = try TLSLoopbackFront.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
        try TLSLoopbackFront.writePrivate(ca.certificatePEM, to: path("ca.crt"))
        try TLSLoopbackFront.writePrivate(ca.keyPEM, to: path("ca.key"))
        try TLSLoopbackFront.writePrivate(
            "subjectAltName=" + Set([address, "127.0.0.1"]).sorted().map { "IP:\($0)," }.joined() + "DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n", to: path("ext.cnf"))
        try ChildProcess.run(
            "/usr/bin/openssl",
            ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", path("server.key"), "-out", path("server.csr"),
             "-subj", "/CN=kube-apiserver"])
        try ChildProcess.run(
            "/usr/bin/openssl",
            ["x509", "-req", "-in", path("server.csr"), "-CA", path("ca.crt"), "-CAkey", path("ca.key"), "-set_serial", "0x\(UUID().uuidString.prefix(8))",
             "-days", "2", "-extfile", path("ext.cnf"), "-out", path("server.crt")])
        return TLSLoopbackFront.Identity(
            certificatePEM: try String(contentsOfFile: path("server.crt"), encoding: .utf8), keyPEM: try String(contentsOfFile: path("server.key"), encoding: .utf8))
    }
}
