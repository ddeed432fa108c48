public import ClusterKit
import Foundation

extension KubernetesClient {
    /// The `apiCode` the error decoder gives a 429 whose Status names a `DisruptionBudget` cause.
    static let disruptionBudgetRefusal = "DisruptionBudget"

    /// Reads the API's meta/v1 Status: its message, reason and code go into the error. A 429
    /// from a PodDisruptionBudget is not transient for the HTTP layer (retrying at once would only
    /// hit the budget again; ``NodeDrainer`` retries it on its own schedule); an API Priority and
    /// Fairness 429 stays a rate limit, honouring its Retry-After.
    @Sendable static func statusError(_ request: HTTPRequest, _ response: HTTPResponse) -> HTTPError {
        let status = try? JSONDecoder().decode(KubernetesWire.Status.self, from: Data(response.body))
        let path = URLComponents(string: request.url)?.path ?? request.url
        var message = "\(request.method.rawValue) \(path) answered HTTP \(response.status)"
        if let text = status?.message, !text.isEmpty { message += ": \(text)" }
        let causes = status?.details?.causes?.compactMap(\.message).filter { !$0.isEmpty } ?? []
        if !causes.isEmpty { message += " (" + causes.joined(separator: "; ") + ")" }
        if let reason = status?.reason, !reason.isEmpty { message += " [\(reason)]" }
        var error = HTTPError(code: .status, message: message, status: response.status, apiCode: status?.reason, response: response)
        if let seconds = status?.details?.retryAfterSeconds, seconds > 0 { error.retryAfter = .seconds(seconds) }
        if response.status == 429, status?.details?.causes?.contains(where: { $0.reason == disruptionBudgetRefusal }) == true {
            error.apiCode = disruptionBudgetRefusal
            error.transient = false
        }
        return error
    }

    /// The budget's name from the cause message the Eviction API writes: "The disruption budget
    /// <name> needs ..." or "... <name> does not allow ..." (kubernetes
    /// `pkg/registry/core/pod/storage/eviction.go`).
    static func budgetName(_ cause: String) -> String? {
        let prefix = "The disruption budget "
        guard cause.hasPrefix(prefix) else { return nil }
        let name = cause.dropFirst(prefix.count).prefix { !$0.isWhitespace }
        return name.isEmpty ? nil : String(name)
    }

    /// The HTTP error as a ClusterError naming what was being done, with the next step.
    static func clusterError(_ what: String, _ error: HTTPError) -> ClusterError {
        let hint: String? =
            switch (error.code, error.status) {
            case (.tls, _):
                "the API server's certificate is not signed by the kubeconfig's CA, or it refused the client certificate; fetch a fresh admin kubeconfig (`talosctl kubeconfig`)"
            case (_, 401):
                "the API server did not accept the client certificate; fetch a fresh admin kubeconfig (`talosctl kubeconfig`)"
            case (_, 403):
                "the kubeconfig's user may not do this; use the cluster's admin kubeconfig (group system:masters)"
            default:
                error.hint
            }
        let code: ClusterError.Code =
            switch (error.code, error.status) {
            case (.timeout, _): .timeout
            case (_, 404): .notFound
            default: .kubernetes
            }
        return ClusterError(
            code, "Kubernetes API: \(what) failed: \(error.message)", hint: hint, cause: error, isTransient: error.isTransient,
            retryAfter: error.retryAfter)
    }
}
