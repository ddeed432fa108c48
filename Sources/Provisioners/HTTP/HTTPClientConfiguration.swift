public import ClusterKit

/// Transport settings for one API endpoint.
public struct HTTPClientConfiguration: Sendable {
    /// How to trust the server's certificate; verification is always on.
    public var tls: TLSTrust
    public var connectTimeout: Duration
    /// Whole-transfer timeout.
    public var totalTimeout: Duration
    public var userAgent: String
    public var retry: HTTPRetryPolicy

    public init(
        tls: TLSTrust = .system, connectTimeout: Duration = .seconds(10), totalTimeout: Duration = .seconds(120),
        userAgent: String = "clusterctl", retry: HTTPRetryPolicy = HTTPRetryPolicy()
    ) {
        self.tls = tls
        self.connectTimeout = connectTimeout
        self.totalTimeout = totalTimeout
        self.userAgent = userAgent
        self.retry = retry
    }
}
