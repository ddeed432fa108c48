public import Foundation
import Synchronization

/// Models of the two heartbeat monitors a drill pushes to, behind an ``HTTPLoopbackServer``:
///
/// - Uptime Kuma's push route (louislam/uptime-kuma `server/routers/api-router.js`):
///   `router.all("/api/push/:pushToken")`; `status` defaults to `up` and anything else is down;
///   `msg` defaults to `OK`; `ping` is optional milliseconds, 0–86,400,000, else 400
///   `{ok:false,msg}`; an unknown token 500 `{ok:false,msg:"Monitor not found or not active."}`;
///   success 200 `{ok:true}`.
/// - Healthchecks.io pings (healthchecks/healthchecks `templates/docs/http_api.md`):
///   `/<uuid>` success, `/<uuid>/fail` failure, `/<uuid>/<0-255>` exit status; HEAD, GET or POST;
///   the body is kept; the answer is 200 `OK`, an unknown check 404 `not found`.
public final class HeartbeatMonitorModel: Sendable {
    /// One heartbeat as the monitor recorded it.
    public struct Beat: Sendable, Hashable {
        public var up: Bool
        public var message: String
        /// Uptime Kuma's `ping` in ms.
        public var ping: Int?
        public var body: String
        public var method: String

        public init(up: Bool, message: String, ping: Int?, body: String, method: String) {
            self.up = up
            self.message = message
            self.ping = ping
            self.body = body
            self.method = method
        }
    }

    /// The token (Kuma) or check UUID (Healthchecks.io) the monitor knows.
    public let token: String
    private final class Store: Sendable {
        let beats = Mutex<[Beat]>([])
    }

    private let store = Store()
    public let server: HTTPLoopbackServer

    public init(token: String = UUID().uuidString.lowercased()) throws {
        self.token = token
        let store = store
        let known = token
        server = try HTTPLoopbackServer { request in Self.handle(request, token: known, store: store) }
    }

    public var received: [Beat] { store.beats.withLock { $0 } }

    /// An Uptime Kuma push URL as its UI shows it, query included.
    public var uptimeKumaURL: String { "\(server.baseURL)/api/push/\(token)?status=up&msg=OK&ping=" }
    public var healthchecksURL: String { "\(server.baseURL)/\(token)" }

    private static func handle(_ request: HTTPLoopbackRequest, token: String, store: Store) -> HTTPLoopbackReply {
        let json = { (status: Int, body: String) in HTTPLoopbackReply.response(status: status, headers: ["Content-Type": "application/json"], body: Array(body.utf8)) }
        let text = { (status: Int, body: String) in HTTPLoopbackReply.response(status: status, headers: ["Content-Type": "text/plain"], body: Array(body.utf8)) }
        let parts = request.path.split(separator: "/").map(String.init)
        if parts.count == 3, parts[0] == "api", parts[1] == "push" {
            guard parts[2] == token else { return json(500, #"{"ok":false,"msg":"Monitor not found or not active."}"#) }
            var ping: Int?
            if let value = request.queryValue("ping"), !value.isEmpty {
                guard let parsed = Int(value), (0...86_400_000).contains(parsed) else { return json(400, #"{"ok":false,"msg":"Invalid ping value"}"#) }
                ping = parsed
            }
            let status = request.queryValue("status") ?? "up"
            let beat = Beat(up: status == "up", message: request.queryValue("msg") ?? "OK", ping: ping, body: "", method: request.method)
            store.beats.withLock { $0.append(beat) }
            return json(200, #"{"ok":true}"#)
        }
        guard ["GET", "POST", "HEAD"].contains(request.method), parts.first == token, parts.count <= 2 else { return text(404, "not found") }
        let signal = parts.count == 2 ? parts[1] : "0"
        let up: Bool
        switch signal {
        case "fail": up = false
        case "start", "log": return text(200, "OK")
        default:
            guard let code = Int(signal), (0...255).contains(code) else { return text(404, "not found") }
            up = code == 0
        }
        store.beats.withLock { $0.append(Beat(up: up, message: signal, ping: nil, body: String(decoding: request.body, as: UTF8.self), method: request.method)) }
        return text(200, "OK")
    }
}
