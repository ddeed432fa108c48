public import ClusterKit

extension ClusterError {
    /// Any backend's failure as the one error the executor, its retry loop and the CLI understand.
    ///
    /// Transport errors keep their classification: a ``ProvisionerError``, ``HTTPError`` or
    /// ``SSHError`` that may clear on a retry stays transient (with its `Retry-After`), a refused
    /// certificate or bad input stays permanent. `domain` is the code for failures that are not a
    /// timeout, a refusal or a missing resource (`.talos` for the machine API, `.provider` for
    /// providers). Cancellation and errors that already are ``ClusterError``s pass unchanged.
    public static func backend(_ error: any Error, domain: Code = .provider) -> any Error {
        switch error {
        case is ClusterError, is CancellationError:
            return error
        case let error as ProvisionerError:
            let code: Code =
                switch error.code {
                case .timeout: .timeout
                case .notFound: .notFound
                case .refused: .refused
                default: domain
                }
            var message = ""
            if let provider = error.provider { message += "\(provider): " }
            if let resource = error.resource, !error.message.contains(resource) { message += "\(resource): " }
            message += error.message
            return ClusterError(code, message, hint: error.hint, cause: error, isTransient: error.isTransient, retryAfter: error.retryAfter)
        case let error as HTTPError:
            return ClusterError(
                error.code == .timeout ? .timeout : domain, error.message, hint: error.hint, cause: error, isTransient: error.isTransient,
                retryAfter: error.retryAfter)
        case let error as SSHError:
            return ClusterError(error.code == .timeout ? .timeout : domain, error.message, hint: error.hint, cause: error, isTransient: error.isTransient)
        case let error as any RetryClassifying & Sendable:
            return ClusterError(domain, "\(error)", cause: error, isTransient: error.isTransient, retryAfter: error.retryAfter)
        default:
            return ClusterError(domain, "\(error)")
        }
    }

    /// Runs `body`, turning whatever it throws into ``backend(_:domain:)``'s error.
    static func mapping<Result>(_ domain: Code = .provider, _ body: () async throws -> Result) async throws -> Result {
        do {
            return try await body()
        } catch {
            throw backend(error, domain: domain)
        }
    }
}
