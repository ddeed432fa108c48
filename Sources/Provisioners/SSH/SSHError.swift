public import ClusterKit

/// The error type of the SSH transport: what failed, against which host, what to do next, and
/// libssh2's own code and message when the library reported it.
public struct SSHError: Error, Sendable, CustomStringConvertible, RetryClassifying {
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// TCP connection or name resolution failed.
        public static let connect = Code(rawValue: "ssh-connect")
        /// Key exchange or another protocol step failed.
        public static let handshake = Code(rawValue: "ssh-handshake")
        /// The host's key is not in known_hosts.
        public static let hostKeyUnknown = Code(rawValue: "ssh-host-key-unknown")
        /// known_hosts holds a different key for this host.
        public static let hostKeyChanged = Code(rawValue: "ssh-host-key-changed")
        /// known_hosts could not be read or written.
        public static let knownHosts = Code(rawValue: "ssh-known-hosts")
        /// The server refused our key.
        public static let authentication = Code(rawValue: "ssh-authentication")
        /// The private key file or its passphrase could not be used.
        public static let keyFile = Code(rawValue: "ssh-key-file")
        /// Opening or using an exec channel failed.
        public static let channel = Code(rawValue: "ssh-channel")
        /// An SFTP operation failed.
        public static let sftp = Code(rawValue: "ssh-sftp")
        /// An operation did not finish in time.
        public static let timeout = Code(rawValue: "ssh-timeout")
        /// The connection dropped under us.
        public static let disconnected = Code(rawValue: "ssh-disconnected")
        /// A remote command exited non-zero (raised by callers that require success).
        public static let commandFailed = Code(rawValue: "ssh-command-failed")
    }

    public var code: Code
    public var message: String
    /// The next step a person should take.
    public var hint: String?
    /// libssh2's error code (`LIBSSH2_ERROR_*`), when the library reported the failure.
    public var libssh2Code: Int32?
    public var cause: (any Error & Sendable)?

    public init(
        _ code: Code, _ message: String, hint: String? = nil, libssh2Code: Int32? = nil,
        cause: (any Error & Sendable)? = nil
    ) {
        self.code = code
        self.message = message
        self.hint = hint
        self.libssh2Code = libssh2Code
        self.cause = cause
    }

    public var description: String {
        hint.map { "\(message)\n  hint: \($0)" } ?? message
    }

    /// Connection trouble and timeouts may clear on a retry; refused keys and host keys do not.
    public var isTransient: Bool {
        [.connect, .timeout, .disconnected].contains(code)
    }
}
