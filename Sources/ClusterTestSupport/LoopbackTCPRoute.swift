import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Routes one loopback address and port to wherever `target` says now, byte for byte, as a
/// provider routes a floating IP to the server it is assigned to: a connection made while no
/// server may take it (unassigned, or its server off) is closed at once, as one to an address
/// nobody answers on fails. TLS passes through untouched, so the client meets the holder's own
/// certificate. One thread per direction of each connection.
public final class LoopbackTCPRoute: Sendable {
    public typealias Target = @Sendable () -> (host: String, port: Int)?

    public let host: String
    public let port: Int
    private let listener: LoopbackListener

    public init(host: String, port: Int, target: @escaping Target) throws {
        self.host = host
        self.port = port
        listener = try LoopbackListener(host: host, port: port, name: "loopback-route-\(host)") { client in
            Self.route(client, to: target())
        }
    }

    /// Stops accepting; connections in flight run until either side closes.
    public func stop() { listener.stop() }

    private static func route(_ client: Int32, to target: (host: String, port: Int)?) {
        guard let (host, port) = target, let server = try? dial(host, port) else {
            close(client)
            return
        }
        // Each direction closes only its own write side when its reader ends; the second of
        // the two to end closes both sockets.
        let ended = Atomic<Int>(0)
        for (from, to) in [(client, server), (server, client)] {
            Thread {
                copy(from, to)
                shutdown(to, Int32(SHUT_WR))
                if ended.add(1, ordering: .relaxed).newValue == 2 {
                    close(client)
                    close(server)
                }
            }.start()
        }
    }

    private static func copy(_ from: Int32, _ to: Int32) {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = recv(from, &buffer, buffer.count, 0)
            if count <= 0 { return }
            var offset = 0
            while offset < count {
                let written = buffer[offset..<count].withUnsafeBytes { send(to, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if written <= 0 { return }
                offset += written
            }
        }
    }

    private static func dial(_ host: String, _ port: Int) throws -> Int32 {
        let fd = try LoopbackListener.tcpSocket()
        var address = LoopbackListener.address(host, port)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            let error = errno
            close(fd)
            throw POSIXError(.init(rawValue: error) ?? .ECONNREFUSED)
        }
        return fd
    }
}
