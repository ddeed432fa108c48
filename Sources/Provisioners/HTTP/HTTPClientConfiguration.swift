public import ClusterKit

/// Transport settings for one API endpoint.
public struct HTTPClientConfiguration: Sendable {
    /// How to trust the server's certificate: the system store, a CA file, or a pinned key alone
    /// (then the key must match and that is enough, as for a self-signed Proxmox VE certificate).
    public var tls: TLSTrust
    /// A public key pin (`sha256//<base64>`) checked in addition to a verified chain (a CA file
    /// and the server's key), for when `tls` itself is not `.pinnedPublicKey`.
    public var pinnedPublicKey: String?
    public var connectTimeout: Duration
    /// Whole-transfer timeout.
    public var totalTimeout: Duration
    public var userAgent: String
    public var retry: HTTPRetryPolicy

    public init(
        tls: TLSTrust = .system, connectTimeout: Duration = .seconds(10), totalTimeout: Duration = .seconds(120),
        userAgent: String = "clusterctl", retry: HTTPRetryPolicy = HTTPRetryPolicy(), pinnedPublicKey: String? = nil
    ) {
        self.tls = tls
        self.pinnedPublicKey = pinnedPublicKey
        self.connectTimeout = connectTimeout
        self.totalTimeout = totalTimeout
        self.userAgent = userAgent
        self.retry = retry
    }
}
