import ClusterKit
import ClusterTestSupport
import Foundation
import Provisioners
import Synchronization
import Testing

@Suite("HTTP client over libcurl against a loopback server")
struct HTTPClientTests {
    /// A loopback server answering from a script, recording what it received.
    final class Script: Sendable {
        let replies: Mutex<[HTTPLoopbackReply]>
        let received = Mutex<[HTTPLoopbackRequest]>([])
        init(_ replies: [HTTPLoopbackReply]) { self.replies = Mutex(replies) }
        func handle(_ request: HTTPLoopbackRequest) -> HTTPLoopbackReply {
            received.withLock { $0.append(request) }
            return replies.withLock { $0.isEmpty ? .response(status: 200, headers: [:], body: Array("{}".utf8)) : $0.removeFirst() }
        }
    }

    static func reply(_ status: Int, _ headers: [String: String] = [:], _ body: String = "{}") -> HTTPLoopbackReply {
        .response(status: status, headers: headers, body: Array(body.utf8))
    }

    func client(_ clock: HTTPFastTimeSource, retry: HTTPRetryPolicy = HTTPRetryPolicy(), wall: Double = 1_000_000_000) -> HTTPClient {
        HTTPClient(
            transport: CurlHTTPTransport(configuration: HTTPClientConfiguration(connectTimeout: .seconds(5), totalTimeout: .seconds(10))),
            retry: retry, time: clock, wallClock: { wall })
    }

    @Test("sends method, headers and body byte for byte and reads status, headers and body")
    func roundTrip() async throws {
        let script = Script([Self.reply(201, ["X-Thing": "a b", "RateLimit-Remaining": "7"], "{\"ok\":true}")])
        let server = try HTTPLoopbackServer { script.handle($0) }
        let body = Array("{\"name\":\"n\u{e9}\",\"nul\":\"\u{0}\"}".utf8)
        let response = try await client(HTTPFastTimeSource()).send(
            HTTPRequest(method: .post, url: server.baseURL + "/v1/things?a=1&b=x%20y", headers: [("Authorization", "Bearer secret")], body: body))
        #expect(response.status == 201)
        #expect(response.header("X-Thing") == "a b")
        #expect(response.header("ratelimit-remaining") == "7")
        #expect(response.bodyText == "{\"ok\":true}")
        let received = try #require(script.received.withLock { $0.first })
        #expect(received.method == "POST")
        #expect(received.path == "/v1/things")
        #expect(received.queryValue("b") == "x y")
        #expect(received.headers["authorization"] == "Bearer secret")
        #expect(received.body == body)
    }

    @Test("DELETE and GET carry no body; PUT carries one")
    func methods() async throws {
        let script = Script([])
        let server = try HTTPLoopbackServer { script.handle($0) }
        let http = client(HTTPFastTimeSource())
        _ = try await http.send(HTTPRequest(method: .delete, url: server.baseURL + "/x"))
        _ = try await http.send(HTTPRequest(method: .get, url: server.baseURL + "/y"))
        _ = try await http.send(HTTPRequest(method: .put, url: server.baseURL + "/z", body: Array("{}".utf8)))
        let seen = script.received.withLock { $0.map { "\($0.method) \($0.path) \($0.body.count)" } }
        #expect(seen == ["DELETE /x 0", "GET /y 0", "PUT /z 2"])
    }

    @Test("503s and a dropped connection are retried with backoff on the injected clock")
    func transientRetries() async throws {
        let script = Script([Self.reply(503), .dropConnection, Self.reply(502), Self.reply(200, [:], "{\"done\":1}")])
        let server = try HTTPLoopbackServer { script.handle($0) }
        let clock = HTTPFastTimeSource()
        let response = try await client(clock).send(HTTPRequest(method: .get, url: server.baseURL + "/r"))
        #expect(response.bodyText == "{\"done\":1}")
        #expect(script.received.withLock { $0.count } == 4)
        #expect(clock.sleeps.count == 3)
        // Full jitter inside [base/2, base * 2^(n-1)] with base 0.5 s.
        #expect(clock.sleeps[0] >= .milliseconds(250) && clock.sleeps[0] <= .milliseconds(500))
        #expect(clock.sleeps[2] >= .milliseconds(250) && clock.sleeps[2] <= .seconds(2))
    }

    @Test("gives up after maxAttempts and says so")
    func givesUp() async throws {
        let script = Script(Array(repeating: Self.reply(503), count: 10))
        let server = try HTTPLoopbackServer { script.handle($0) }
        let error = await #expect(throws: HTTPError.self) {
            try await client(HTTPFastTimeSource(), retry: HTTPRetryPolicy(maxAttempts: 3)).send(HTTPRequest(method: .get, url: server.baseURL + "/r"))
        }
        #expect(error?.status == 503)
        #expect(error?.isTransient == true)
        #expect(error?.hint?.contains("3 attempts") == true)
        #expect(script.received.withLock { $0.count } == 3)
    }

    @Test("4xx other than 429 fails at once")
    func noRetryOnClientError() async throws {
        let script = Script([Self.reply(422, [:], "{\"error\":{}}")])
        let server = try HTTPLoopbackServer { script.handle($0) }
        let clock = HTTPFastTimeSource()
        await #expect(throws: HTTPError.self) { try await client(clock).send(HTTPRequest(method: .post, url: server.baseURL + "/r")) }
        #expect(script.received.withLock { $0.count } == 1)
        #expect(clock.sleeps.isEmpty)
    }

    @Test("429 waits Retry-After, then the RateLimit headers, and never counts as an attempt")
    func rateLimit() async throws {
        let script = Script(
            [Self.reply(429, ["Retry-After": "7"])] + Array(repeating: Self.reply(429, ["RateLimit-Limit": "3600", "RateLimit-Remaining": "0", "RateLimit-Reset": "1000000600"]), count: 5)
                + [Self.reply(429, ["RateLimit-Limit": "60", "RateLimit-Remaining": "0", "RateLimit-Reset": "1000000030"])])
        let server = try HTTPLoopbackServer { script.handle($0) }
        let clock = HTTPFastTimeSource()
        _ = try await client(clock, retry: HTTPRetryPolicy(maxAttempts: 2)).send(HTTPRequest(method: .get, url: server.baseURL + "/r"))
        // 7 s asked; then one request refills in 3600/3600 = 1 s; then 3600/60 = 60 s capped by the reset 30 s away.
        #expect(clock.sleeps == [.seconds(7)] + Array(repeating: .seconds(1), count: 5) + [.seconds(30)])
    }

    @Test("connection refused is a transient transport error carrying libcurl's message")
    func refused() async throws {
        let port: Int
        do {
            let server = try HTTPLoopbackServer { _ in .dropConnection }
            port = server.port
            server.stop()
        }
        let error = await #expect(throws: HTTPError.self) {
            try await client(HTTPFastTimeSource(), retry: HTTPRetryPolicy(maxAttempts: 2)).send(HTTPRequest(method: .get, url: "http://127.0.0.1:\(port)/"))
        }
        #expect(error?.code == .transport)
        #expect(error?.curlCode == 7)
        #expect(error?.message.contains("127.0.0.1") == true)
    }

    @Test("the request log redacts tokens, user data and secret query parameters")
    func redaction() {
        let redaction = HTTPRedaction()
        #expect(redaction.header(name: "Authorization", value: "Bearer abc") == "<redacted>")
        #expect(redaction.header(name: "X-Auth-Token", value: "abc") == "<redacted>")
        #expect(redaction.header(name: "Accept", value: "application/json") == "application/json")
        let body = redaction.body(Array("{\"name\":\"n1\",\"user_data\":\"machine: secret\",\"nested\":{\"root_password\":\"pw\"}}".utf8))
        #expect(!body.contains("secret"))
        #expect(!body.contains("pw\""))
        #expect(body.contains("\"user_data\":\"<redacted 15 bytes>\""))
        #expect(body.contains("\"name\":\"n1\""))
        #expect(redaction.body(Array("not json secret".utf8)) == "<15 bytes>")
        #expect(!redaction.url("https://h/x?token=abc&page=2").contains("abc"))
    }
}
