public import Foundation
import Synchronization

/// A bare repository served over Git's smart HTTP protocol by the real `git http-backend` (as
/// CGI behind ``HTTPLoopbackServer``), with HTTP basic authentication the way Git hosts take a
/// token: no or wrong credentials get `401` with `WWW-Authenticate: Basic`.
///
/// It records every request so tests can check where the credentials travelled.
public final class GitHTTPTestServer: @unchecked Sendable {
    public let directory: URL
    public let repository: BareGitRepository
    public let username: String
    public let token: String
    private var http: HTTPLoopbackServer?
    private let seen = RequestLog()

    /// `observe` sees every request before it is answered (while the client waits for it).
    public init(username: String = "git", token: String, observe: (@Sendable (HTTPLoopbackRequest) -> Void)? = nil) throws {
        if let reason = GitTestServer.unavailableReason { throw TestSupportError(reason) }
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("clusterctl-git-http-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        repository = try BareGitRepository(at: directory.appendingPathComponent("fleet.git"), scripts: directory)
        self.username = username
        self.token = token
        let expected = "Basic " + Data("\(username):\(token)".utf8).base64EncodedString()
        let root = directory
        http = try HTTPLoopbackServer { [seen] request in
            seen.requests.withLock { $0.append(request) }
            observe?(request)
            guard request.headers["authorization"] == expected else {
                return .response(status: 401, headers: ["WWW-Authenticate": "Basic realm=\"fleet\""], body: Array("Unauthorized\n".utf8))
            }
            return Self.backend(request, root: root, user: username)
        }
    }

    deinit { stop() }

    public func stop() {
        http?.stop()
        http = nil
        try? FileManager.default.removeItem(at: directory)
    }

    /// `http://127.0.0.1:<port>/fleet.git`.
    public var url: String { "\(http?.baseURL ?? "http://127.0.0.1:0")/fleet.git" }

    /// Every request received so far.
    public var requests: [HTTPLoopbackRequest] { seen.requests.withLock { $0 } }

    private final class RequestLog: Sendable {
        let requests = Mutex<[HTTPLoopbackRequest]>([])
    }

    /// Runs `git http-backend` for one request (CGI/1.1, RFC 3875; variables per git-http-backend(1)).
    private static func backend(_ request: HTTPLoopbackRequest, root: URL, user: String) -> HTTPLoopbackReply {
        let id = UUID().uuidString.prefix(8)
        let input = root.appendingPathComponent("cgi-\(id).in")
        let output = root.appendingPathComponent("cgi-\(id).out")
        let errors = root.appendingPathComponent("cgi-\(id).err")
        defer { [input, output, errors].forEach { try? FileManager.default.removeItem(at: $0) } }
        do {
            try Data(request.body).write(to: input)
            var environment = [
                "GIT_PROJECT_ROOT": root.path, "GIT_HTTP_EXPORT_ALL": "1", "REMOTE_USER": user, "REMOTE_ADDR": "127.0.0.1",
                "REQUEST_METHOD": request.method, "PATH_INFO": request.path, "CONTENT_LENGTH": String(request.body.count),
                "QUERY_STRING": request.query.map { "\($0.name)=\($0.value)" }.joined(separator: "&"),
                "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null", "PATH": "/usr/bin:/bin",
            ]
            if let type = request.headers["content-type"] { environment["CONTENT_TYPE"] = type }
            if let encoding = request.headers["content-encoding"] { environment["HTTP_CONTENT_ENCODING"] = encoding }
            if let protocolHeader = request.headers["git-protocol"] { environment["GIT_PROTOCOL"] = protocolHeader }
            let child = try ChildProcess.spawn(
                BareGitRepository.gitPath, ["http-backend"], outputFile: output.path, errorFile: errors.path, inputFile: input.path,
                environment: environment)
            guard child.wait() == 0 else { return .response(status: 500, headers: [:], body: Array("http-backend failed\n".utf8)) }
            return parse(Array(try Data(contentsOf: output)))
        } catch {
            return .response(status: 500, headers: [:], body: Array("\(error)\n".utf8))
        }
    }

    /// Splits CGI output into status, headers and body.
    private static func parse(_ bytes: [UInt8]) -> HTTPLoopbackReply {
        var index = 0
        var headers: [String: String] = [:]
        var status = 200
        while index < bytes.count {
            guard let end = bytes[index...].firstIndex(of: 10) else { break }
            let line = String(decoding: bytes[index..<end], as: UTF8.self).trimmingCharacters(in: CharacterSet(charactersIn: "\r"))
            index = end + 1
            if line.isEmpty { break }
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = String(line[..<colon])
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if name.lowercased() == "status" {
                status = Int(value.prefix(3)) ?? 500
            } else {
                headers[name] = value
            }
        }
        return .response(status: status, headers: headers, body: Array(bytes[index...]))
    }
}
