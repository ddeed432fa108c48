/// A complete HTTP response: status, headers (names lower-cased) and body bytes.
public struct HTTPResponse: Sendable, Hashable {
    public var status: Int
    /// Header names lower-cased; a repeated header keeps its values joined by `, ` (RFC 9110 §5.3).
    public var headers: [String: String]
    public var body: [UInt8]

    public init(status: Int, headers: [String: String] = [:], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public func header(_ name: String) -> String? { headers[name.lowercased()] }

    public var isSuccess: Bool { (200..<300).contains(status) }

    public var bodyText: String { String(decoding: body, as: UTF8.self) }
}
