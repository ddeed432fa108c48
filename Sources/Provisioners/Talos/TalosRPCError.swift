import GRPCCore
import NIOSSL

/// Turns a gRPC failure from apid into Provisioners' one error type, classified for the
/// executor's retry logic (../shared/reference/talos/API-FACTS.md sections 2 to 5 for the codes).
enum TalosRPCError {
    /// Where the call went and what it was, for messages a person can act on.
    struct Call {
        var method: String
        var node: String
        var address: String
    }

    static func map(_ error: any Error, _ call: Call) -> ProvisionerError {
        if let error = error as? ProvisionerError { return error }
        guard let rpc = error as? RPCError else {
            return ProvisionerError(.transport, "\(call.method) on \(call.address): \(error)", resource: call.node, isTransient: true)
        }
        let text = "\(call.method) on \(call.address): \(rpc.message)"
        if let tls = tlsFailure(rpc) {
            return ProvisionerError(
                .refused, "\(call.method) on \(call.address): \(handshakeFailed): \(tls)", resource: call.node,
                hint: "the node's certificate is not signed by the cluster's OS CA, or it refused the client certificate (wrong CA, or an extended key usage other than client auth); regenerate the talosconfig with `clusterctl gen config`, or, for a node in maintenance mode, apply its config first")
        }
        switch rpc.code {
        case .unavailable, .aborted, .resourceExhausted, .cancelled:
            return ProvisionerError(.transport, text, resource: call.node, isTransient: true)
        case .deadlineExceeded:
            return ProvisionerError(.timeout, text, resource: call.node, isTransient: true)
        case .failedPrecondition:
            // "bootstrap is not available yet", "time is not in sync yet", "configuration was already
            // applied and node is rebooting", "another apply configuration is already in progress",
            // "etcd service is not ready for recovery yet": Talos' way of saying "not now".
            return ProvisionerError(.unavailable, text, resource: call.node, isTransient: true)
        case .alreadyExists:
            return ProvisionerError(.conflict, text, resource: call.node)
        case .notFound:
            return ProvisionerError(.notFound, text, resource: call.node)
        case .invalidArgument, .outOfRange:
            return ProvisionerError(.invalidInput, text, resource: call.node, hint: "check the machine config with `clusterctl gen config`")
        case .permissionDenied:
            return ProvisionerError(.refused, text, resource: call.node,
                hint: "the client certificate's roles (its O= values) do not allow \(call.method); use an os:admin talosconfig")
        case .unauthenticated:
            return ProvisionerError(.refused, text, resource: call.node, hint: "the node did not accept the client certificate; regenerate the talosconfig")
        case .unimplemented:
            return ProvisionerError(.refused, text, resource: call.node)
        case .unknown:
            // etcd's own refusals come back as codes.Unknown with etcd's text.
            if rpc.message.contains("etcdserver: unhealthy cluster") || rpc.message.contains("etcdserver: no leader") {
                return ProvisionerError(.unavailable, text, resource: call.node, isTransient: true)
            }
            if rpc.message.contains("not enough started members") {
                return ProvisionerError(.refused, text, resource: call.node,
                    hint: "removing this member would leave etcd without a quorum of started members; bring members back or add one first")
            }
            return ProvisionerError(.transport, text, resource: call.node)
        default:
            return ProvisionerError(.transport, text, resource: call.node)
        }
    }

    private static let handshakeFailed = "the TLS handshake failed"

    /// Whether ``map(_:_:)`` made `error` from a failed TLS handshake.
    static func isHandshakeFailure(_ error: ProvisionerError) -> Bool {
        error.code == .refused && error.message.contains(handshakeFailed)
    }

    /// The TLS error inside a connection failure, if that is what it was.
    static func tlsFailure(_ error: any Error) -> String? {
        // The peer hanging up mid-handshake (a node going down or rebooting) is a transport
        // problem worth retrying, not a refusal of our certificates.
        let whole = String(describing: error)
        if whole.contains("EOF during handshake") || whole.contains("uncleanShutdown") { return nil }
        var current: (any Error)? = error
        var depth = 0
        while let error = current, depth < 8 {
            if error is NIOSSLError || error is BoringSSLError { return "\(error)" }
            let text = String(describing: error)
            if text.contains("handshakeFailed") || text.contains("CERTIFICATE_VERIFY_FAILED") || text.contains("sslError") { return text }
            current = (error as? RPCError)?.cause
            depth += 1
        }
        return nil
    }
}
