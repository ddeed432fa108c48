/// The one error type of ClusterKit: what went wrong, where, and what to do about it.
///
/// The CLI catches it once at the top and prints `message`, then `hint`; `cause` keeps the
/// underlying error for `--verbose` output. Messages never contain secrets.
public struct ClusterError: Error, Sendable, CustomStringConvertible, RetryClassifying {
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let invalidSpec = Code(rawValue: "invalid-spec")
        public static let notFound = Code(rawValue: "not-found")
        public static let provider = Code(rawValue: "provider")
        public static let talos = Code(rawValue: "talos")
        public static let secrets = Code(rawValue: "secrets")
        public static let io = Code(rawValue: "io")
        public static let refused = Code(rawValue: "refused")
        public static let timeout = Code(rawValue: "timeout")
        public static let partialFailure = Code(rawValue: "partial-failure")
        public static let kubernetes = Code(rawValue: "kubernetes")
    }

    public var code: Code
    public var message: String
    /// The next step a person should take.
    public var hint: String?
    public var cause: (any Error & Sendable)?
    /// Whether trying again may succeed (an API that does not answer yet); false unless the
    /// thrower says so, so the executor retries only what a backend classified as transient.
    public var isTransient: Bool
    public var retryAfter: Duration?

    public init(
        _ code: Code, _ message: String, hint: String? = nil, cause: (any Error & Sendable)? = nil, isTransient: Bool = false,
        retryAfter: Duration? = nil
    ) {
        self.code = code
        self.message = message
        self.hint = hint
        self.cause = cause
        self.isTransient = isTransient
        self.retryAfter = retryAfter
    }

    public var description: String {
        hint.map { "\(message)\n  hint: \($0)" } ?? message
    }
}
