import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A request as the loopback server parsed it.
public struct HTTPLoopbackRequest: Sendable, Hashable {
    public var method: String
    /// Path without the query, percent-decoded.
    public var path: String
    public var query: [QueryItem]
    /// Header names lower-cased.
    public var headers: [String: String]
    public var body: [UInt8]

    public struct QueryItem: Sendable, Hashable {
        public var name: String
        public var value: String
    }

    public func queryValues(_ name: String) -> [String] { query.filter { $0.name == name }.map(\.value) }
    public func queryValue(_ name: String) -> String? { queryValues(name).first }
}

/// What the loopback server sends back: a response, or a connection closed with no answer
/// (which libcurl reports as "empty reply", a connection reset).
public enum HTTPLoopbackReply: Sendable {
    case response(status: Int, headers: [String: String], body: [UInt8])
    case dropConnection
}

/// A small HTTP/1.1 server on 127.0.0.1 over POSIX sockets, for tests of real libcurl transfers.
///
/// Written here rather than taken from a package: it is ~150 lines, adds no dependency, and lets
/// a test drop a connection at the byte level. One thread per connection, `Content-Length`
/// bodies only, `Connection: close` on every response. The handler runs synchronously on the
/// connection's thread.
public final class HTTPLoopbackServer: Sendable {
    public typealias Handler = @Sendable (HTTPLoopbackRequest) -> HTTPLoopbackReply

    public var port: Int { listener.port }
    private let listener: LoopbackListener

    public var baseURL: String { "http://127.0.0.1:\(port)" }

    public init(handler: @escaping Handler) throws {
        listener = try LoopbackListener(name: "loopback-http") { connection in
            Thread { Self.serve(connection, handler) }.start()
        }
    }

    /// Stops accepting; connections in flight finish.
    public func stop() { listener.stop() }

    private static func serve(_ fd: Int32, _ handler: Handler) {
        defer { close(fd) }
        guard let request = read(fd) else { return }
        switch handler(request) {
        case .dropConnection:
            // SO_LINGER 0 makes close() send a reset instead of an orderly shutdown.
            var linger = linger(l_onoff: 1, l_linger: 0)
            setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<linger>.size))
        case .response(let status, let headers, let body):
            var head = "HTTP/1.1 \(status) \(Self.reason(status))\r\n"
            var allHeaders = headers
            allHeaders["Content-Length"] = String(body.count)
            allHeaders["Connection"] = "close"
            for (name, value) in allHeaders.sorted(by: { $0.key < $1.key }) { head += "\(name): \(value)\r\n" }
            head += "\r\n"
            write(fd, Array(head.utf8) + body)
        }
    }

    private static func write(_ fd: Int32, _ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if written <= 0 { return }
            offset += written
        }
    }

    private static func read(_ fd: Int32) -> HTTPLoopbackRequest? {
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        var headerEnd: Int?
        while headerEnd == nil {
            let count = recv(fd, &chunk, chunk.count, 0)
            if count <= 0 { return nil }
            buffer += chunk[0..<count]
            headerEnd = find([13, 10, 13, 10], in: buffer)
            if buffer.count > 1 << 20 { return nil }
        }
        guard let headerEnd else { return nil }
        let head = String(decoding: buffer[0..<headerEnd], as: UTF8.self)
        var lines = head.components(separatedBy: "\r\n")
        let requestLine = lines.removeFirst().split(separator: " ")
        guard requestLine.count >= 2 else { return nil }
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let length = Int(headers["content-length"] ?? "0") ?? 0
        var body = Array(buffer[(headerEnd + 4)...])
        while body.count < length {
            let count = recv(fd, &chunk, chunk.count, 0)
            if count <= 0 { return nil }
            body += chunk[0..<count]
        }
        let target = String(requestLine[1])
        let components = URLComponents(string: "http://localhost" + target)
        let query = (components?.queryItems ?? []).map { HTTPLoopbackRequest.QueryItem(name: $0.name, value: $0.value ?? "") }
        return HTTPLoopbackRequest(
            method: String(requestLine[0]), path: components?.path ?? target, query: query, headers: headers, body: Array(body.prefix(length)))
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for index in 0...(haystack.count - needle.count) where haystack[index..<(index + needle.count)].elementsEqual(needle) {
            return index
        }
        return nil
    }

    private static func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 201: "Created"
        case 204: "No Content"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 409: "Conflict"
        case 422: "Unprocessable Entity"
        case 423: "Locked"
        case 429: "Too Many Requests"
        case 500: "Internal Server Error"
        case 503: "Service Unavailable"
        default: "Status"
        }
    }
}
