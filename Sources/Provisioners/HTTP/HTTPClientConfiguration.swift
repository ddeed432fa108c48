public import ClusterKit

/// Transport settings for one API endpoint.
public struct HTTPClientConfiguration: Sendable {
    /// How to trust the server's certificate: the system store, a CA file, or a pinned key alone
    /// (then the key must match and that is enough, as for a self-signed Proxmox VE certificate).
    public var tls: TLSTrust
    /// A public key pin (`sha256//<base64>`) checked in addition to a verified chain (a CA file
    /// and the server's key), for when `tls` itself is not `.pinnedPublicKey`.
    public var pinnedPublicKey: String?
    /// CA certificates, PEM, trusted instead of ``tls``'s CA and the system store when set (a
    /// kubeconfig's `certificate-authority-data`): the server must chain to exactly these.
    /// Passed as a blob (`CURLOPT_CAINFO_BLOB`), never written to disk.
    public var certificateAuthorityPEM: String?
    /// A client certificate and key for mutual TLS, when the server asks for one (the Kubernetes
    /// API server, from an admin kubeconfig). Handed to libcurl as in-memory blobs
    /// (`CURLOPT_SSLCERT_BLOB`, `CURLOPT_SSLKEY_BLOB`), never written to a file.
    public var clientIdentity: PEMCertificateAndKey?
    public var connectTimeout: Duration
    /// Whole-transfer timeout.
    public var totalTimeout: Duration
    public var userAgent: String
    public var retry: HTTPRetryPolicy

    public init(
        tls: TLSTrust = .system, connectTimeout: Duration = .seconds(10), totalTimeout: Duration = .seconds(120),
        userAgent: String = "clusterctl", retry: HTTPRetryPolicy = HTTPRetryPolicy(), pinnedPublicKey: String? = nil,
        certificateAuthorityPEM: String? = nil, clientIdentity: PEMCertificateAndKey? = nil
    ) {
        self.certificateAuthorityPEM = certificateAuthorityPEM
        self.clientIdentity = clientIdentity
        self.tls = tls
        self.pinnedPublicKey = pinnedPublicKey
        self.connectTimeout = connectTimeout
        self.totalTimeout = totalTimeout
        self.userAgent = userAgent
        self.retry = retry
    }
}
