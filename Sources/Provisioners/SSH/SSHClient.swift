public import ClusterKit
import Dispatch
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An SSH client over libssh2 that runs commands and uploads files on one host.
///
/// libssh2 calls block on the network, so they never run on Swift's cooperative thread pool:
/// every call hops onto this client's own serial dispatch queue, and the async methods resume
/// when it is done. The connection is opened on first use and reopened after it drops. It is
/// `@unchecked Sendable` because all of its mutable state is confined to that queue (an actor
/// would run the blocking calls on the cooperative pool).
public final class SSHClient: RemoteShell, @unchecked Sendable {
    public let configuration: SSHConfiguration
    private let queue: DispatchQueue
    /// Touched only on `queue`.
    private var connection: SSHConnection?
    /// Touched only on `queue`.
    private var keepaliveTimer: (any DispatchSourceTimer)?

    public init(_ configuration: SSHConfiguration) {
        self.configuration = configuration
        queue = DispatchQueue(label: "clusterctl.ssh.\(configuration.host):\(configuration.port)")
    }

    deinit {
        keepaliveTimer?.cancel()
    }

    /// Connects, verifies the host key and authenticates now rather than on first use; returns
    /// the host key's SHA256 fingerprint.
    @discardableResult
    public func connect() async throws -> String {
        try await onQueue { try self.connected().hostKeyFingerprint }
    }

    /// How many socket waits of the current connection ran out their one-second slice with
    /// nothing to do: a diagnostic for stalls (a healthy short command adds none).
    public func idleSocketWaits() async throws -> Int {
        try await onQueue { self.connection?.session.idleWaits ?? 0 }
    }

    /// Runs a command; a non-zero exit status is returned, not thrown.
    public func run(_ command: RemoteCommand, stdin: [UInt8]?) async throws -> RemoteCommandResult {
        try await run(command, stdin: stdin, timeout: configuration.operationTimeout)
    }

    /// Runs a command with its own time limit (`nil`: none).
    public func run(_ command: RemoteCommand, stdin: [UInt8]?, timeout: Duration?) async throws -> RemoteCommandResult {
        try await onQueue {
            let deadline = timeout.map { ContinuousClock.now + $0 }
            return try self.withConnection { try $0.exec(command, stdin: stdin, deadline: deadline) }
        }
    }

    /// Writes bytes to a remote file with the given mode, atomically replacing it (over SFTP).
    public func upload(_ bytes: [UInt8], to path: String, mode: Int32) async throws {
        try await onQueue {
            let deadline = self.configuration.operationTimeout.map { ContinuousClock.now + $0 }
            try self.withConnection { connection in
                var sent = 0
                try connection.upload(to: path, mode: mode, deadline: deadline) { buffer in
                    let length = min(buffer.count, bytes.count - sent)
                    bytes.withUnsafeBytes { source in
                        if length > 0, let base = source.baseAddress {
                            buffer.copyMemory(from: UnsafeRawBufferPointer(start: base + sent, count: length))
                        }
                    }
                    sent += length
                    return length
                }
            }
        }
    }

    /// Streams a local file to a remote path with the given mode, atomically replacing it; for
    /// images too large to hold in memory. `timeout` nil waits as long as the connection lives.
    public func uploadFile(at localPath: String, to path: String, mode: Int32, timeout: Duration? = nil) async throws {
        try await onQueue {
            let fd = open(localPath, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else {
                throw SSHError(.sftp, "cannot open \(localPath) for upload: \(String(cString: strerror(errno)))")
            }
            defer { close(fd) }
            let deadline = timeout.map { ContinuousClock.now + $0 }
            try self.withConnection { connection in
                guard lseek(fd, 0, SEEK_SET) == 0 else {
                    throw SSHError(.sftp, "cannot rewind \(localPath): \(String(cString: strerror(errno)))")
                }
                try connection.upload(to: path, mode: mode, deadline: deadline) { buffer in
                    let count = read(fd, buffer.baseAddress, buffer.count)
                    guard count >= 0 else {
                        throw SSHError(.sftp, "cannot read \(localPath): \(String(cString: strerror(errno)))")
                    }
                    return count
                }
            }
        }
    }

    /// Closes the connection cleanly (SSH_MSG_DISCONNECT); the next call opens a new one.
    public func disconnect() async {
        _ = try? await onQueue {
            self.keepaliveTimer?.cancel()
            self.keepaliveTimer = nil
            self.connection?.disconnect()
            self.connection = nil
        }
    }

    // MARK: queue confinement

    private func onQueue<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body() }) }
        }
    }

    /// The live connection, opened on demand. On `queue` only.
    private func connected() throws -> SSHConnection {
        if let connection { return connection }
        let fresh = try SSHConnection(configuration: configuration)
        connection = fresh
        startKeepalive()
        return fresh
    }

    /// Runs `body` on the connection; a connection that dropped or timed out is discarded so the
    /// next call starts afresh. On `queue` only.
    private func withConnection<T>(_ body: (SSHConnection) throws -> T) throws -> T {
        let connection = try connected()
        do {
            return try body(connection)
        } catch let error as SSHError where [.disconnected, .timeout].contains(error.code) {
            self.connection = nil
            throw error
        }
    }

    /// Sends keepalives while the connection is idle, so NAT state survives and a dead peer shows. On `queue` only.
    private func startKeepalive() {
        guard keepaliveTimer == nil, let interval = configuration.keepaliveInterval else { return }
        let timer = DispatchSource.makeTimerSource(queue: queue)
        let nanoseconds = Int(interval.components.seconds) * 1_000_000_000 + Int(interval.components.attoseconds / 1_000_000_000)
        timer.schedule(deadline: .now() + .nanoseconds(nanoseconds), repeating: .nanoseconds(nanoseconds))
        timer.setEventHandler { [weak self] in
            guard let self, let connection = self.connection else { return }
            if (try? connection.sendKeepalive()) == nil { self.connection = nil }
        }
        timer.resume()
        keepaliveTimer = timer
    }
}
