import GRPCNIOTransportHTTP2Posix
import NIOCore
import NIOPosix

/// Binds one node's listener (127.0.0.1 on a free port unless told otherwise) and puts the TLS handler ``TalosAPIPeer``
/// chooses in front of gRPC's HTTP/2 pipeline on every accepted connection. grpc-swift's own
/// server TLS settings cannot switch on Ed25519, hence a listener of our own.
struct TalosPeerListenerFactory: HTTP2ServerTransport.ListenerFactory {
    let eventLoopGroup: any EventLoopGroup
    var host = "127.0.0.1"
    var port = 0
    let secure: @Sendable (any Channel) throws -> Void

    func makeListeningChannel(
        listenerConfigurator: HTTP2ServerTransport.ListenerConfigurator,
        connectionConfigurator: HTTP2ServerTransport.ConnectionConfigurator
    ) async throws -> NIOAsyncChannel<HTTP2ServerTransport.ConnectionConfigurator.ConnectionChannel, Never> {
        try await ServerBootstrap(group: eventLoopGroup)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelInitializer { channel in listenerConfigurator.configure(channel: channel) }
            .bind(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture { try secure(channel) }
                    .flatMap { connectionConfigurator.configure(channel: channel, tls: .configured(requireALPN: true)) }
            }
    }
}
