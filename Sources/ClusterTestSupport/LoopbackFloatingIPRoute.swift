import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// The routing of a ``LoopbackCloud`` floating IP to the server it is assigned to, for one port
/// (the Talos API's 50000 by default): a connection to the floating IP's address reaches that
/// port on whichever server the Hetzner model says holds the IP at connect time.
///
/// On Hetzner a floating IP is routed to its server and answered there by whatever listens on the
/// address once it is configured in the OS ("you must configure them inside your operation
/// system"; Talos adds it as a static address, FAILOVER-FACTS.md section 4), so a node's apid
/// answers on it. Here every candidate counts as having it configured. When the IP moves,
/// connections made through the old holder end (their packets now reach a server that knows
/// nothing of them); a holder that is not running, or no holder, refuses connections.
///
/// The Kubernetes API peer of ``LoopbackCloud`` listens on the floating IP itself (port 6443):
/// this route covers the other ports.
public final class LoopbackFloatingIPRoute: Sendable {
    private struct Relayed {
        var target: String
        var channels: [any Channel]
    }

    /// The relayed connections, shared with the listener's initializer.
    private final class Book: Sendable {
        let relayed = Mutex<[Relayed]>([])
    }

    public let address: String
    public let port: Int
    private let listener: any Channel
    private let connections = Book()
    private let loop = Mutex<Task<Void, Never>?>(nil)

    /// Starts routing `cloud`'s floating IP `name` (as the Hetzner model knows it) on `port`.
    public init(cloud: LoopbackCloud, floatingIP name: String, port: Int = 50000) async throws {
        let hetzner = cloud.hetzner
        address = cloud.endpointAddress
        self.port = port
        let connections = connections
        /// The holder's public address, when it holds the IP and runs.
        @Sendable func holder() -> String? {
            guard let id = hetzner.floatingIPServer(name), let server = hetzner.servers.first(where: { $0.id == id }), server.status == "running" else {
                return nil
            }
            return server.publicIPv4
        }
        let group = MultiThreadedEventLoopGroup.singleton
        listener = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            // Nothing is read from a client before its relay to the holder is in place.
            .childChannelOption(.autoRead, value: false)
            .childChannelInitializer { inbound in
                guard let target = holder() else { return inbound.eventLoop.makeFailedFuture(TestSupportError("\(name) is not routed anywhere")) }
                return ClientBootstrap(group: inbound.eventLoop)
                    .channelInitializer { outbound in
                        outbound.eventLoop.makeCompletedFuture { try outbound.pipeline.syncOperations.addHandler(Relay(partner: inbound)) }
                    }
                    .connect(host: target, port: port)
                    .flatMapThrowing { outbound in
                        try inbound.pipeline.syncOperations.addHandler(Relay(partner: outbound))
                        connections.relayed.withLock { relayed in
                            relayed.removeAll { !$0.channels.allSatisfy(\.isActive) }
                            relayed.append(Relayed(target: target, channels: [inbound, outbound]))
                        }
                    }
                    .flatMap { inbound.setOption(.autoRead, value: true) }
            }
            .bind(host: address, port: port).get()
        let task = Task { [weak self] in
            var last = holder()
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(50))
                let now = holder()
                guard now != last, let self else { continue }
                last = now
                self.closeConnections { $0 != now }
            }
        }
        loop.withLock { $0 = task }
    }

    /// Stops routing and ends every relayed connection.
    public func stop() async {
        await loop.cancelAndWait()
        try? await listener.close()
        closeConnections { _ in true }
    }

    private func closeConnections(where matches: (String) -> Bool) {
        let ending = connections.relayed.withLock { relayed in
            let ending = relayed.filter { matches($0.target) }
            relayed.removeAll { matches($0.target) }
            return ending.flatMap(\.channels)
        }
        for channel in ending { channel.close(promise: nil) }
    }
}

/// Copies what one side of a relayed connection reads to the other, and ends both together.
private final class Relay: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    let partner: any Channel

    init(partner: any Channel) { self.partner = partner }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        partner.writeAndFlush(unwrapInboundIn(data), promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        partner.close(promise: nil)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
