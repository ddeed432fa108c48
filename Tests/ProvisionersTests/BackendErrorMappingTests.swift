import ClusterKit
import Provisioners
import Testing

/// Every backend's failure reaches the executor as a ClusterError that keeps its retry class.
@Suite struct BackendErrorMappingTests {
    @Test func transientFailuresStayTransientWithTheirWait() throws {
        let talos = try #require(
            ClusterError.backend(
                ProvisionerError(.unavailable, "Bootstrap on 10.5.0.11:50000: bootstrap is not available yet", resource: "cp-1", isTransient: true),
                domain: .talos) as? ClusterError)
        #expect(talos.isTransient && talos.code == .talos)
        #expect(talos.message.contains("bootstrap is not available yet"))

        var limited = HTTPError(code: .status, message: "GET /v1/servers: HTTP 429", status: 429)
        limited.retryAfter = .seconds(7)
        let http = try #require(ClusterError.backend(limited) as? ClusterError)
        #expect(http.isTransient && http.retryAfter == .seconds(7) && http.code == .provider)

        let ssh = try #require(ClusterError.backend(SSHError(.timeout, "kvm.home.arpa did not answer")) as? ClusterError)
        #expect(ssh.isTransient && ssh.code == .timeout)
    }

    @Test func permanentFailuresStayPermanentWithTheirHint() throws {
        let refused = try #require(
            ClusterError.backend(
                ProvisionerError(.refused, "Version on 10.5.0.11:50000: the TLS handshake failed", resource: "cp-1", hint: "regenerate the talosconfig"),
                domain: .talos) as? ClusterError)
        #expect(!refused.isTransient && refused.code == .refused && refused.hint == "regenerate the talosconfig")

        let key = try #require(ClusterError.backend(SSHError(.authentication, "the server refused the key")) as? ClusterError)
        #expect(!key.isTransient && key.code == .provider)

        let tls = try #require(ClusterError.backend(HTTPError(code: .tls, message: "certificate verify failed")) as? ClusterError)
        #expect(!tls.isTransient)
    }

    @Test func clusterErrorsAndCancellationPassUnchanged() {
        let original = ClusterError(.notFound, "no node cp-9")
        #expect((ClusterError.backend(original) as? ClusterError)?.message == "no node cp-9")
        #expect(ClusterError.backend(CancellationError()) is CancellationError)
    }
}
