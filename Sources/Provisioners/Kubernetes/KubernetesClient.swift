public import ClusterKit
import Foundation
public import Logging

/// The Kubernetes API over the libcurl HTTP layer, authenticated with an admin kubeconfig's
/// client certificate (mutual TLS), trusting only the kubeconfig's CA.
///
/// Paths and shapes are the API server's (core/v1 nodes and pods, policy/v1 Eviction). Errors
/// become ``ClusterError``s carrying the API's Status message, reason and code, classified for
/// retry as the HTTP layer classifies them (5xx, timeouts and resets transient; TLS and other 4xx
/// not). A 429 from the Eviction API is a PodDisruptionBudget's "not now", answered as
/// ``KubernetesEviction/blocked(budget:message:)`` and left to ``NodeDrainer`` to retry.
public struct KubernetesClient: KubernetesAPI {
    /// The API server URL, without a trailing slash.
    public let server: String
    let http: HTTPClient
    /// `/readyz` probes: one attempt, so "not up yet" comes back at once.
    let probe: HTTPClient
    /// Kind-to-resource mappings API discovery returned (``KubernetesClient/object(_:)`` and friends).
    let discovery = KubernetesDiscovery()

    /// A client for the kubeconfig's server, with its CA and client certificate.
    public init(
        kubeconfig: Kubeconfig, time: any TimeSource = SystemTimeSource(), logger: Logger = Logger(label: "clusterctl.kubernetes"),
        retry: HTTPRetryPolicy = HTTPRetryPolicy(maxAttempts: 4, maxRateLimitWait: .seconds(120))
    ) {
        let configuration = HTTPClientConfiguration(
            connectTimeout: .seconds(5), totalTimeout: .seconds(60), userAgent: "clusterctl", retry: retry,
            certificateAuthorityPEM: kubeconfig.certificateAuthorityPEM,
            clientIdentity: PEMCertificateAndKey(certificatePEM: kubeconfig.clientCertificatePEM, keyPEM: kubeconfig.clientKeyPEM))
        self.init(server: kubeconfig.server, transport: CurlHTTPTransport(configuration: configuration), time: time, logger: logger, retry: retry)
    }

    /// A client over any transport (tests, or a transport configured by hand).
    public init(
        server: String, transport: any HTTPTransport, time: any TimeSource = SystemTimeSource(),
        logger: Logger = Logger(label: "clusterctl.kubernetes"), retry: HTTPRetryPolicy = HTTPRetryPolicy(maxAttempts: 4, maxRateLimitWait: .seconds(120))
    ) {
        self.server = server.hasSuffix("/") ? String(server.dropLast()) : server
        http = HTTPClient(transport: transport, retry: retry, time: time, logger: logger, errorDecoder: Self.statusError)
        probe = HTTPClient(transport: transport, retry: .none, time: time, logger: logger, errorDecoder: Self.statusError)
    }

    // MARK: KubernetesAPI

    public func isAPIServerUp() async throws -> Bool {
        do {
            let response = try await probe.send(request(.get, "/readyz"))
            return response.bodyText.trimmingCharacters(in: .whitespacesAndNewlines) == "ok"
        } catch let error as HTTPError where error.isTransient {
            // Down, restarting or not ready yet (readyz answers 500 until every check passes).
            return false
        } catch let error as HTTPError {
            throw Self.clusterError("checking /readyz", error)
        }
    }

    public func nodes() async throws -> [KubernetesNodeStatus] {
        let list = try await get("/api/v1/nodes", KubernetesWire.List<KubernetesWire.Node>.self, "listing nodes")
        return (list.items ?? []).map { KubernetesNodeStatus($0) }
    }

    public func systemPods() async throws -> [KubernetesPod] {
        let list = try await get("/api/v1/namespaces/kube-system/pods", KubernetesWire.List<KubernetesWire.Pod>.self, "listing kube-system pods")
        return (list.items ?? []).map { KubernetesPod($0) }
    }

    public func pods(onNode node: String) async throws -> [KubernetesPod] {
        let selector = Self.queryEscaped("spec.nodeName=\(node)")
        let list = try await get("/api/v1/pods?fieldSelector=\(selector)", KubernetesWire.List<KubernetesWire.Pod>.self, "listing pods on node \(node)")
        return (list.items ?? []).map { KubernetesPod($0) }
    }

    /// A JSON merge patch (RFC 7386) of `spec.unschedulable`: `true` to cordon, `null` to remove
    /// the field and uncordon, as `kubectl uncordon` does.
    public func setUnschedulable(_ unschedulable: Bool, node: String) async throws {
        let body = unschedulable ? #"{"spec":{"unschedulable":true}}"# : #"{"spec":{"unschedulable":null}}"#
        try await send(
            request(.patch, "/api/v1/nodes/\(Self.pathEscaped(node))", contentType: "application/merge-patch+json", body: Array(body.utf8)),
            "\(unschedulable ? "cordoning" : "uncordoning") node \(node)")
    }

    public func evict(_ pod: KubernetesPod) async throws -> KubernetesEviction {
        let eviction: [String: Any] = [
            "apiVersion": "policy/v1", "kind": "Eviction", "metadata": ["name": pod.name, "namespace": pod.namespace],
        ]
        let body = try JSONSerialization.data(withJSONObject: eviction, options: [.sortedKeys])
        let path = "/api/v1/namespaces/\(Self.pathEscaped(pod.namespace))/pods/\(Self.pathEscaped(pod.name))/eviction"
        do {
            _ = try await http.send(request(.post, path, contentType: "application/json", body: Array(body)))
            return .evicted
        } catch let error as HTTPError where error.status == 404 {
            return .alreadyGone
        } catch let error as HTTPError where error.apiCode == Self.disruptionBudgetRefusal {
            let status = error.response.flatMap { try? JSONDecoder().decode(KubernetesWire.Status.self, from: Data($0.body)) }
            let causes = status?.details?.causes?.filter { $0.reason == "DisruptionBudget" }.compactMap(\.message) ?? []
            let message = ([status?.message ?? "Cannot evict pod as it would violate the pod's disruption budget."] + causes).joined(separator: " ")
            return .blocked(budget: causes.lazy.compactMap(Self.budgetName).first, message: message)
        } catch let error as HTTPError {
            throw Self.clusterError("evicting pod \(pod.reference)", error)
        }
    }

    public func deleteNode(_ name: String) async throws {
        do {
            _ = try await http.send(request(.delete, "/api/v1/nodes/\(Self.pathEscaped(name))"))
        } catch let error as HTTPError where error.status == 404 {
            return
        } catch let error as HTTPError {
            throw Self.clusterError("deleting node \(name)", error)
        }
    }

    // MARK: Requests

    func request(_ method: HTTPMethod, _ path: String, contentType: String? = nil, body: [UInt8]? = nil) -> HTTPRequest {
        var headers: [(name: String, value: String)] = [(name: "Accept", value: "application/json")]
        if let contentType { headers.append((name: "Content-Type", value: contentType)) }
        return HTTPRequest(method: method, url: server + path, headers: headers, body: body)
    }

    private func get<T: Decodable>(_ path: String, _ type: T.Type, _ what: String) async throws -> T {
        let request = request(.get, path)
        let response = try await send(request, what)
        do {
            return try HTTPClient.decode(T.self, from: response, request: request)
        } catch let error as HTTPError {
            throw Self.clusterError(what, error)
        }
    }

    @discardableResult
    private func send(_ request: HTTPRequest, _ what: String) async throws -> HTTPResponse {
        do {
            return try await http.send(request)
        } catch let error as HTTPError {
            throw Self.clusterError(what, error)
        }
    }

    static func pathEscaped(_ segment: String) -> String {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove("/")
        return segment.addingPercentEncoding(withAllowedCharacters: allowed) ?? segment
    }

    static func queryEscaped(_ value: String) -> String {
        var allowed = CharacterSet.urlQueryAllowed
        allowed.remove(charactersIn: "&=+")
        return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value
    }
}
