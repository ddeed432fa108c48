public import ClusterKit
import Foundation
import Logging

/// Pushes a drill's outcome to a heartbeat monitor once it is known, so a missing or failed drill
/// pages someone.
///
/// Two URL forms are understood:
/// - Uptime Kuma push monitors (`…/api/push/<token>`, louislam/uptime-kuma
///   `server/routers/api-router.js`): `status=up&msg=OK&ping=<RTO in ms>` when the drill passed,
///   `status=down&msg=<reason>` otherwise. `ping` must be 0–86,400,000 ms; any status other than
///   `up` counts as down; a 2xx answer carries `{"ok":true}`.
/// - Healthchecks.io-style ping URLs (healthchecks/healthchecks `templates/docs/http_api.md`): a
///   POST to the URL signals success, to `<URL>/fail` failure; the body (the Markdown report,
///   one summary line per drill, then the
///   Markdown reports, cut to the 10 KB that is stored) shows in the check's log.
///
/// The URL embeds the monitor's token, so it is never logged or put in a message: the HTTP
/// client gets a logger that drops everything, and errors name the host only.
public struct DrillHeartbeat: Sendable {
    public enum Service: String, Sendable, Hashable {
        case uptimeKuma = "uptime-kuma"
        case healthchecks
    }

    /// Bytes of report body a Healthchecks.io ping keeps.
    static let bodyLimit = 10_000

    public let service: Service
    /// The URL's host, the only part of it that may be shown.
    public let host: String
    private let url: URLComponents
    private let client: HTTPClient

    /// - Parameter source: where the URL came from (`environment variable DRILL_HEARTBEAT_URL`), for messages.
    public init(
        url text: String, source: String, transport: any HTTPTransport = CurlHTTPTransport(), time: any TimeSource = SystemTimeSource()
    ) throws(ProvisionerError) {
        guard let components = URLComponents(string: text.trimmingCharacters(in: .whitespacesAndNewlines)),
            let scheme = components.scheme?.lowercased(), scheme == "https" || scheme == "http", let host = components.host, !host.isEmpty
        else {
            throw ProvisionerError(
                .invalidInput, "the heartbeat URL in \(source) is not an http(s) URL (it is not shown: it holds a token)",
                hint: "set it to the push URL the monitor gives (Uptime Kuma: https://…/api/push/<token>; Healthchecks.io: https://hc-ping.com/<uuid>)")
        }
        url = components
        self.host = host
        service = components.path.contains("/api/push/") ? .uptimeKuma : .healthchecks
        let hostName = host
        client = HTTPClient(
            transport: transport, retry: HTTPRetryPolicy(maxAttempts: 3, maxRateLimitWait: .seconds(60)), time: time,
            logger: Logger(label: "clusterctl.heartbeat", factory: { _ in SwiftLogNoOpLogHandler() }),
            errorDecoder: { request, response in
                HTTPError(code: .status, message: "the heartbeat at \(hostName) answered HTTP \(response.status)", status: response.status, response: response)
            })
    }

    /// The request that reports a run's drills as one heartbeat (exposed for tests; it holds the
    /// secret URL): up only when every drill passed, with the longest RTO; down with the reasons
    /// otherwise. One push per run, so a later pass never hides an earlier failure.
    public func request(for reports: [DrillReport]) -> HTTPRequest {
        var target = url
        let passed = !reports.isEmpty && reports.allSatisfy { $0.outcome == .passed }
        switch service {
        case .uptimeKuma:
            var items = (target.percentEncodedQueryItems ?? []).filter { !["status", "msg", "ping"].contains($0.name) }
            if passed {
                items.append(URLQueryItem(name: "status", value: "up"))
                items.append(URLQueryItem(name: "msg", value: "OK"))
                if let rto = reports.compactMap(\.rtoSeconds).max() {
                    let milliseconds = min(max(Int((rto * 1000).rounded()), 0), 86_400_000)
                    items.append(URLQueryItem(name: "ping", value: String(milliseconds)))
                }
            } else {
                items.append(URLQueryItem(name: "status", value: "down"))
                items.append(URLQueryItem(name: "msg", value: Self.queryEncoded(String(Self.reason(reports).prefix(250)))))
            }
            target.percentEncodedQueryItems = items
            return HTTPRequest(method: .get, url: target.string ?? "")
        case .healthchecks:
            if !passed {
                target.percentEncodedPath = (target.percentEncodedPath.hasSuffix("/") ? String(target.percentEncodedPath.dropLast()) : target.percentEncodedPath) + "/fail"
            }
            // Summaries first: the stored 10 KB must say how every drill ended.
            let summary = reports.map(\.summary).joined(separator: "\n")
            var body = Array((summary + "\n\n" + reports.map(\.markdown).joined(separator: "\n---\n\n")).utf8)
            if body.count > Self.bodyLimit {
                // Cut on a character boundary so the stored text stays valid UTF-8.
                body = Array(body.prefix(Self.bodyLimit))
                while !body.isEmpty, String(validating: body, as: UTF8.self) == nil { body.removeLast() }
            }
            return HTTPRequest(method: .post, url: target.string ?? "", headers: [("Content-Type", "text/plain; charset=utf-8")], body: body)
        }
    }

    /// Sends one heartbeat for a run's reports.
    /// - Throws: ``ProvisionerError`` naming the host, never the URL.
    public func push(_ reports: [DrillReport]) async throws(ProvisionerError) {
        let request = request(for: reports)
        let response: HTTPResponse
        do {
            response = try await client.send(request)
        } catch let error as HTTPError {
            let secret = [url.string ?? "", url.percentEncodedPath, request.url].filter { $0.count > 1 }
            var message = error.message
            for text in secret { message = message.replacingOccurrences(of: text, with: "<heartbeat URL>") }
            throw ProvisionerError(
                error.status == nil ? .transport : .unavailable, "the \(service.rawValue) heartbeat at \(host) failed: \(message)",
                hint: "the drill's report is in its history; check the monitor, or the URL in the environment")
        } catch {
            throw ProvisionerError(.transport, "the \(service.rawValue) heartbeat at \(host) was not sent: \(type(of: error))")
        }
        // Uptime Kuma answers {"ok":false,"msg":…} for an unknown or paused monitor.
        if service == .uptimeKuma, let object = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any],
            object["ok"] as? Bool == false
        {
            throw ProvisionerError(
                .refused, "the uptime-kuma heartbeat at \(host) refused the push: \(object["msg"] as? String ?? "no reason given")",
                hint: "check that the push monitor exists and is active")
        }
    }

    /// Why a run is down: the summaries of the drills that did not pass.
    static func reason(_ reports: [DrillReport]) -> String {
        let failed = reports.filter { $0.outcome != .passed }
        return failed.isEmpty ? "no drill ran" : failed.map(\.summary).joined(separator: "; ")
    }

    /// Percent-encodes a query value so `+`, `&` and `=` arrive as written (Express reads `+` as a space).
    static func queryEncoded(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }
}
