import Foundation

/// What the request log must never show: credentials in headers, and secrets or machine configs
/// in JSON bodies. Used by ``HTTPClient`` for every logged request and response.
public struct HTTPRedaction: Sendable, Hashable {
    /// Header names (lower-case) whose values are replaced.
    public var headers: Set<String>
    /// JSON object keys, at any depth, whose values are replaced.
    public var bodyKeys: Set<String>

    public init(
        headers: Set<String> = ["authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"],
        bodyKeys: Set<String> = ["user_data", "token", "password", "root_password", "secret", "private_key", "ticket"]
    ) {
        self.headers = headers
        self.bodyKeys = bodyKeys
    }

    public func header(name: String, value: String) -> String {
        let lower = name.lowercased()
        if headers.contains(lower) || lower.contains("token") || lower.contains("secret") {
            return "<redacted>"
        }
        return value
    }

    /// The body as loggable text: JSON with secret keys replaced by their size, or a byte count
    /// when the body is not JSON (it may be anything, so it is not shown).
    public func body(_ bytes: [UInt8]?) -> String {
        guard let bytes, !bytes.isEmpty else { return "" }
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed]) else {
            return "<\(bytes.count) bytes>"
        }
        let cleaned = redact(object)
        guard JSONSerialization.isValidJSONObject(cleaned),
            let data = try? JSONSerialization.data(withJSONObject: cleaned, options: [.sortedKeys])
        else { return "<\(bytes.count) bytes>" }
        return String(decoding: data, as: UTF8.self)
    }

    private func redact(_ value: Any) -> Any {
        if let dictionary = value as? [String: Any] {
            var result: [String: Any] = [:]
            for (key, inner) in dictionary {
                if bodyKeys.contains(key.lowercased()), !(inner is NSNull) {
                    let size = (inner as? String)?.utf8.count
                    result[key] = size.map { "<redacted \($0) bytes>" } ?? "<redacted>"
                } else {
                    result[key] = redact(inner)
                }
            }
            return result
        }
        if let array = value as? [Any] { return array.map(redact) }
        return value
    }

    /// The URL with secret-looking query parameters (`token`, `password`, ...) replaced.
    public func url(_ url: String) -> String {
        guard var components = URLComponents(string: url), let items = components.queryItems else { return url }
        components.queryItems = items.map { item in
            let lower = item.name.lowercased()
            if bodyKeys.contains(lower) || lower.contains("token") || lower.contains("secret") {
                return URLQueryItem(name: item.name, value: "redacted")
            }
            return item
        }
        return components.string ?? url
    }
}
