public import ClusterKit

/// The error of the HTTP transport: a libcurl failure, or a response whose status says the
/// request failed. Classified for the one retry loop in ``HTTPClient`` and for the executor.
public struct HTTPError: Error, Sendable, CustomStringConvertible, RetryClassifying {
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// libcurl could not complete the transfer (DNS, connect, reset, TLS, ...).
        public static let transport = Code(rawValue: "transport")
        /// The connect or total timeout elapsed.
        public static let timeout = Code(rawValue: "timeout")
        /// TLS verification or public-key pinning failed. Never retried.
        public static let tls = Code(rawValue: "tls")
        /// The server answered with a non-2xx status.
        public static let status = Code(rawValue: "status")
        /// The response body was not what the caller expected.
        public static let decoding = Code(rawValue: "decoding")
        /// The request could not be built (bad URL, unencodable body).
        public static let invalidRequest = Code(rawValue: "invalid-request")
    }

    public var code: Code
    public var message: String
    public var hint: String?
    public var cause: (any Error & Sendable)?
    /// HTTP status when the server answered.
    public var status: Int?
    /// The libcurl result code when libcurl failed.
    public var curlCode: Int?
    /// The API's own error code from the body (`uniqueness_error`, ...), when a provider parsed it.
    public var apiCode: String?
    /// Field-level details the API gave (`invalid_input`: field name -> messages).
    public var fieldErrors: [String: [String]]
    public var retryAfter: Duration?
    /// The response, when there was one (body already free of secrets: it is the server's).
    public var response: HTTPResponse?
    /// Set by an API's error decoder when its own code says "retry" (`conflict`, `locked`)
    /// regardless of the status.
    public var transient: Bool?

    public init(
        code: Code, message: String, hint: String? = nil, cause: (any Error & Sendable)? = nil, status: Int? = nil,
        curlCode: Int? = nil, apiCode: String? = nil, fieldErrors: [String: [String]] = [:], retryAfter: Duration? = nil,
        response: HTTPResponse? = nil
    ) {
        self.code = code
        self.message = message
        self.hint = hint
        self.cause = cause
        self.status = status
        self.curlCode = curlCode
        self.apiCode = apiCode
        self.fieldErrors = fieldErrors
        self.retryAfter = retryAfter
        self.response = response
    }

    /// 429, 5xx, timeouts and transport failures (connection refused or reset) may succeed on a
    /// later attempt; TLS failures, other 4xx and decoding errors will not.
    public var isTransient: Bool {
        if let transient { return transient }
        return switch code {
        case .timeout, .transport: true
        case .status:
            if let status { status == 429 || (500...599).contains(status) } else { false }
        default: false
        }
    }

    public var description: String {
        var text = message
        if let apiCode { text += " [\(apiCode)]" }
        for (field, messages) in fieldErrors.sorted(by: { $0.key < $1.key }) {
            text += "\n  field \(field): \(messages.joined(separator: "; "))"
        }
        if let hint { text += "\n  hint: \(hint)" }
        return text
    }
}

extension HTTPError {
    /// A TLS alert from the server about certificates (RFC 8446 §6.2: `bad_certificate`,
    /// `certificate_required`, `unknown_ca`, ...). With TLS 1.3 the server sends it after the
    /// client thinks the handshake is done, so libcurl reports a receive or send error; retrying
    /// cannot help, so it is a TLS failure, not a transport one. OpenSSL spells them "alert bad
    /// certificate", "alert certificate required", "alert unknown ca".
    public static func isCertificateAlertMessage(_ message: String) -> Bool {
        let text = message.lowercased()
        guard text.contains(" alert ") else { return false }
        return ["certificate", "unknown ca", "access denied", "handshake failure"].contains { text.contains($0) }
    }
}
