import GRPCCore
import GRPCNIOTransportHTTP2Posix
import NIOCore
import NIOPosix
import NIOSSL

/// One gRPC client (one HTTP/2 connection, reconnected as needed) per Talos endpoint and trust
/// mode, so a run's many calls to a node share one TLS handshake.
///
/// TLS goes in through grpc-swift-nio-transport's `.customSecure` security plus the
/// `onCreateTCPConnection` callback, because its own TLS settings cannot switch on Ed25519
/// (see ``TalosTLS``). That callback runs after gRPC's own handlers are in place, so the TLS
/// handler is inserted first in the pipeline.
actor TalosConnectionPool {
    struct Key: Hashable {
        var host: String
        var port: Int
        var maintenance: Bool
    }

    private struct Entry {
        var client: GRPCClient<HTTP2ClientTransport.Posix>
        var task: Task<Void, Never>
    }

    private let secureContext: NIOSSLContext
    private let maintenanceContext: NIOSSLContext
    private var entries: [Key: Entry] = [:]
    private var closed = false

    init(credentials: TalosCredentials) throws(ProvisionerError) {
        do {
            secureContext = try NIOSSLContext(configuration: try TalosTLS.client(credentials))
            maintenanceContext = try NIOSSLContext(configuration: TalosTLS.maintenance())
        } catch let error as ProvisionerError {
            throw error
        } catch {
            throw ProvisionerError(.invalidInput, "the Talos client TLS settings were refused: \(error)", hint: "regenerate the talosconfig with `clusterctl gen config`")
        }
    }

    func client(for key: Key) throws(ProvisionerError) -> GRPCClient<HTTP2ClientTransport.Posix> {
        guard !closed else { throw ProvisionerError(.transport, "the Talos API client was shut down") }
        if let entry = entries[key] { return entry.client }
        let context = key.maintenance ? maintenanceContext : secureContext
        let transport: HTTP2ClientTransport.Posix
        do {
            transport = try HTTP2ClientTransport.Posix(
                target: Self.target(host: key.host, port: key.port),
                transportSecurity: .customSecure,
                config: .defaults { config in
                    // A node that reboots refuses connections for a while; keep retrying it often
                    // instead of backing off to gRPC's default two minutes.
                    config.backoff = .init(initial: .milliseconds(200), max: .seconds(5), multiplier: 1.6, jitter: 0.2)
                    config.channelDebuggingCallbacks.onCreateTCPConnection = { channel in
                        channel.eventLoop.makeCompletedFuture {
                            // No SNI: Talos endpoints are IP addresses, and NIOSSL checks the
                            // certificate's IP SANs against the connected address.
                            let handler = try NIOSSLClientHandler(context: context, serverHostname: nil)
                            try channel.pipeline.syncOperations.addHandler(handler, position: .first)
                        }
                    }
                })
        } catch {
            throw ProvisionerError(.invalidInput, "cannot reach the Talos API at \(key.host):\(key.port): \(error)")
        }
        let client = GRPCClient(transport: transport)
        let task = Task { _ = try? await client.runConnections() }
        entries[key] = Entry(client: client, task: task)
        return client
    }

    /// Drops the client for `key`: after a failed TLS handshake gRPC would otherwise keep answering
    /// with that failure until its reconnect backoff ends, although the node may have changed
    /// meanwhile (left maintenance mode, rebooted with a new certificate).
    func discard(_ key: Key) {
        guard let entry = entries.removeValue(forKey: key) else { return }
        entry.client.beginGracefulShutdown()
    }

    /// Closes every connection; calls after this fail.
    func shutdown() async {
        closed = true
        let all = entries.values
        entries = [:]
        for entry in all { entry.client.beginGracefulShutdown() }
        for entry in all { await entry.task.value }
    }

    private static func target(host: String, port: Int) -> any ResolvableTarget {
        if host.contains(":") { return ResolvableTargets.IPv6.ipv6(address: host, port: port) }
        if host.split(separator: ".").count == 4, host.allSatisfy({ $0.isNumber || $0 == "." }) {
            return ResolvableTargets.IPv4.ipv4(address: host, port: port)
        }
        return ResolvableTargets.DNS.dns(host: host, port: port)
    }
}
