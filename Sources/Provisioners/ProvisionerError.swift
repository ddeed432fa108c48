public import ClusterKit

/// The one error type of the provider backends: what failed, on which resource, whether trying
/// again may help, and what a person can do.
public struct ProvisionerError: Error, Sendable, RetryClassifying, CustomStringConvertible {
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let rateLimited = Code(rawValue: "rate_limit_exceeded")
        public static let unavailable = Code(rawValue: "unavailable")
        public static let timeout = Code(rawValue: "timeout")
        public static let conflict = Code(rawValue: "conflict")
        public static let notFound = Code(rawValue: "not_found")
        public static let limitExceeded = Code(rawValue: "resource_limit_exceeded")
        public static let invalidInput = Code(rawValue: "invalid_input")
        public static let refused = Code(rawValue: "refused")
        public static let transport = Code(rawValue: "transport")
    }

    public var code: Code
    public var message: String
    /// The provider (spec name) and the resource the error is about, e.g. `server home-cp-1`.
    public var provider: String?
    public var resource: String?
    public var hint: String?
    public var isTransient: Bool
    public var retryAfter: Duration?

    public init(
        _ code: Code, _ message: String, provider: String? = nil, resource: String? = nil, hint: String? = nil,
        isTransient: Bool = false, retryAfter: Duration? = nil
    ) {
        self.code = code
        self.message = message
        self.provider = provider
        self.resource = resource
        self.hint = hint
        self.isTransient = isTransient
        self.retryAfter = retryAfter
    }

    public var description: String {
        var text = ""
        if let provider { text += "\(provider): " }
        if let resource { text += "\(resource): " }
        text += "\(message) (\(code))"
        if let hint { text += "\n  hint: \(hint)" }
        return text
    }
}
