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
    private let listener: Int32
    private let target: Target
    private let stopped = Atomic<Bool>(false)

    public init(host: String, port: Int, target: @escaping Target) throws {
        self.host = host
        self.port = port
        self.target = target
        listener = try Self.openListener(host, port)
        let thread = Thread { [self] in acceptLoop() }
        thread.name = "loopback-route-\(host):\(port)"
        thread.start()
    }

    deinit { stop() }

    /// Stops accepting; connections in flight run until either side closes.
    public func stop() {
        guard !stopped.exchange(true, ordering: .relaxed) else { return }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private func acceptLoop() {
        while !stopped.load(ordering: .relaxed) {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                return
            }
            guard let (host, port) = target(), let server = try? Self.dial(host, port) else {
                close(client)
                continue
            }
            // Each direction closes only its own write side when its reader ends; the second
            // of the two to end closes both sockets.
            let ended = Atomic<Int>(0)
            for (from, to) in [(client, server), (server, client)] {
                let thread = Thread {
                    Self.copy(from, to)
                    shutdown(to, Int32(SHUT_WR))
                    if ended.add(1, ordering: .relaxed).newValue == 2 {
                        close(client)
                        close(server)
                    }
                }
                thread.start()
            }
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

    private static func address(_ host: String, _ port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr(host)
        return address
    }

    private static func openListener(_ host: String, _ port: Int) throws -> Int32 {
        #if canImport(Glibc)
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
            let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = address(host, port)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 128) == 0 else {
            let error = errno
            close(fd)
            throw POSIXError(.init(rawValue: error) ?? .EIO)
        }
        return fd
    }

    private static func dial(_ host: String, _ port: Int) throws -> Int32 {
        #if canImport(Glibc)
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
            let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        var address = address(host, port)
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
