public import ClusterKit

/// How to reach and trust one SSH server.
public struct SSHConfiguration: Sendable, Hashable {
    /// What to do with a host key that known_hosts does not hold yet.
    public enum UnknownHostKeyPolicy: Sendable, Hashable {
        /// Refuse, showing the key's SHA256 fingerprint and how to accept it (the default).
        case refuse
        /// Trust on first use: append the key to known_hosts and go on. Only on an explicit flag.
        case trustAndRemember
    }

    public var host: String
    public var port: Int
    public var user: String
    /// Private key file: OpenSSH or PEM format, ed25519, ecdsa or rsa.
    public var privateKeyFile: String
    /// Where the key's passphrase comes from, if the key has one.
    public var passphrase: SecretReference?
    public var knownHostsFile: String
    public var unknownHostKeyPolicy: UnknownHostKeyPolicy
    /// Limit for TCP connect, handshake and authentication together.
    public var connectTimeout: Duration
    /// Default limit for one command or upload; `nil` waits as long as the connection lives.
    public var operationTimeout: Duration?
    /// Interval of SSH keepalive messages, which also reveal a dead peer; `nil` sends none.
    public var keepaliveInterval: Duration?

    public init(
        host: String, port: Int = 22, user: String, privateKeyFile: String, passphrase: SecretReference? = nil,
        knownHostsFile: String, unknownHostKeyPolicy: UnknownHostKeyPolicy = .refuse,
        connectTimeout: Duration = .seconds(20), operationTimeout: Duration? = .seconds(600),
        keepaliveInterval: Duration? = .seconds(15)
    ) {
        self.host = host
        self.port = port
        self.user = user
        self.privateKeyFile = privateKeyFile
        self.passphrase = passphrase
        self.knownHostsFile = knownHostsFile
        self.unknownHostKeyPolicy = unknownHostKeyPolicy
        self.connectTimeout = connectTimeout
        self.operationTimeout = operationTimeout
        self.keepaliveInterval = keepaliveInterval
    }

    /// The settings a spec's `ssh:` block gives.
    public init(target: SSHTarget, unknownHostKeyPolicy: UnknownHostKeyPolicy = .refuse) {
        self.init(
            host: target.host, port: target.port, user: target.user, privateKeyFile: target.keyFile,
            passphrase: target.passphrase, knownHostsFile: target.knownHostsFile,
            unknownHostKeyPolicy: unknownHostKeyPolicy)
    }

    /// The host as known_hosts names it: `host` on port 22, `[host]:port` elsewhere (sshd(8),
    /// SSH_KNOWN_HOSTS FILE FORMAT).
    public var knownHostsName: String {
        port == 22 ? host : "[\(host)]:\(port)"
    }
}
