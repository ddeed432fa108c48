import CLibSSH2

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// libssh2's process-wide initialisation, run once before the first session (libssh2_init(3)).
private let libssh2InitResult: Int32 = libssh2_init(0)

/// Owns one `LIBSSH2_SESSION` and the TCP socket under it, and frees both in `deinit`.
///
/// The session runs in libssh2's non-blocking mode: every call goes through ``retry(_:deadline:_:again:)``,
/// which waits on the socket in the directions libssh2 asks for (libssh2_session_block_directions(3)),
/// sends keepalives while it waits and enforces the caller's deadline. Not thread-safe: only the
/// owning ``SSHClient``'s serial queue touches it.
final class SSHSessionHandle {
    let raw: OpaquePointer
    let socket: Int32
    /// `user@host:port`, for messages.
    let label: String
    var keepaliveEnabled = false
    /// Socket waits that ran out their slice with nothing to read or write. Each costs up to a
    /// second, so a call that has its answer should never add one.
    private(set) var idleWaits = 0

    init(socket: Int32, label: String) throws {
        self.socket = socket
        self.label = label
        guard libssh2InitResult == 0, let raw = clusterctl_ssh2_session_init() else {
            close(socket)
            throw SSHError(.handshake, "could not create an SSH session for \(label) (libssh2 initialisation failed)")
        }
        self.raw = raw
        libssh2_session_set_blocking(raw, 0)
        // Bounds the few blocking calls made while freeing handles in deinit.
        libssh2_session_set_timeout(raw, 5000)
    }

    deinit {
        libssh2_session_free(raw)
        close(socket)
    }

    /// libssh2's own code and message for the last failure on this session.
    func lastError() -> (code: Int32, message: String) {
        var message: UnsafeMutablePointer<CChar>?
        var length: Int32 = 0
        let code = libssh2_session_last_error(raw, &message, &length, 0)
        guard let message, length > 0 else { return (code, "no message from libssh2") }
        let text = message.withMemoryRebound(to: UInt8.self, capacity: Int(length)) {
            String(decoding: UnsafeBufferPointer(start: $0, count: Int(length)), as: UTF8.self)
        }
        return (code, text)
    }

    /// The one place a libssh2 return code becomes an error: negative codes throw an ``SSHError``
    /// carrying libssh2's message; socket failures and timeouts get their own codes.
    @discardableResult
    func check(_ rc: Int32, _ code: SSHError.Code, _ what: @autoclosure () -> String, hint: String? = nil) throws -> Int32 {
        guard rc < 0 else { return rc }
        throw error(rc, code, what(), hint: hint)
    }

    /// An error for a failed call, with libssh2's message.
    func error(_ rc: Int32, _ code: SSHError.Code, _ what: String, hint: String? = nil) -> SSHError {
        let message = lastError().message
        switch rc {
        case LIBSSH2_ERROR_SOCKET_DISCONNECT, LIBSSH2_ERROR_SOCKET_RECV, LIBSSH2_ERROR_SOCKET_SEND,
            LIBSSH2_ERROR_SOCKET_NONE, LIBSSH2_ERROR_BAD_SOCKET:
            return SSHError(
                .disconnected, "\(what) on \(label) failed: the connection dropped (\(message), libssh2 error \(rc))",
                hint: "check that sshd still runs on the host and the network path is up, then retry",
                libssh2Code: rc)
        case LIBSSH2_ERROR_TIMEOUT, LIBSSH2_ERROR_SOCKET_TIMEOUT:
            return SSHError(.timeout, "\(what) on \(label) timed out (\(message))", hint: hint, libssh2Code: rc)
        default:
            return SSHError(code, "\(what) on \(label) failed: \(message) (libssh2 error \(rc))", hint: hint, libssh2Code: rc)
        }
    }

    /// Repeats a non-blocking call until it stops asking to be called again.
    func retry<T>(
        _ what: @autoclosure () -> String, deadline: ContinuousClock.Instant?, _ call: () -> T, again: (T) -> Bool
    ) throws -> T {
        while true {
            let result = call()
            if !again(result) { return result }
            try waitForSocket(what(), deadline: deadline)
        }
    }

    /// Repeats a call returning a libssh2 code while it answers `LIBSSH2_ERROR_EAGAIN`, then checks it.
    @discardableResult
    func call(
        _ what: @autoclosure () -> String, _ code: SSHError.Code, deadline: ContinuousClock.Instant?,
        hint: String? = nil, _ body: () -> Int32
    ) throws -> Int32 {
        let rc = try retry(what(), deadline: deadline, body, again: { $0 == LIBSSH2_ERROR_EAGAIN })
        return try check(rc, code, what(), hint: hint)
    }

    /// Repeats a call returning a handle while it returns NULL with `LIBSSH2_ERROR_EAGAIN` pending.
    func open(
        _ what: @autoclosure () -> String, _ code: SSHError.Code, deadline: ContinuousClock.Instant?,
        _ body: () -> OpaquePointer?
    ) throws -> OpaquePointer {
        let pointer = try retry(what(), deadline: deadline, body) { [raw] in
            $0 == nil && libssh2_session_last_errno(raw) == LIBSSH2_ERROR_EAGAIN
        }
        guard let pointer else {
            throw error(libssh2_session_last_errno(raw), code, what())
        }
        return pointer
    }

    /// Waits until the socket is ready in the directions libssh2 last blocked on, at most one
    /// second at a time so keepalives go out during long waits.
    func waitForSocket(_ what: String, deadline: ContinuousClock.Instant?) throws {
        let directions = libssh2_session_block_directions(raw)
        var events: Int16 = 0
        if directions & clusterctl_ssh2_session_block_inbound != 0 { events |= Int16(POLLIN) }
        if directions & clusterctl_ssh2_session_block_outbound != 0 { events |= Int16(POLLOUT) }
        if events == 0 { events = Int16(POLLIN) }
        var sliceMilliseconds: Int64 = 1000
        if let deadline {
            let remaining = deadline - ContinuousClock.now
            if remaining <= .zero {
                throw SSHError(
                    .timeout, "\(what) on \(label) did not finish in time",
                    hint: "the host may be overloaded or the command may hang; raise the timeout or check the host")
            }
            let (seconds, attoseconds) = remaining.components
            sliceMilliseconds = min(sliceMilliseconds, seconds * 1000 + attoseconds / 1_000_000_000_000_000 + 1)
        }
        var descriptor = pollfd(fd: socket, events: events, revents: 0)
        let ready = poll(&descriptor, 1, Int32(sliceMilliseconds))
        if ready == 0 { idleWaits += 1 }
        if ready < 0 && errno != EINTR {
            throw SSHError(.disconnected, "\(what) on \(label) failed: poll: \(String(cString: strerror(errno)))")
        }
        if keepaliveEnabled {
            var secondsToNext: Int32 = 0
            _ = libssh2_keepalive_send(raw, &secondsToNext)
        }
    }

    /// Runs a blocking libssh2 call (used only to free handles), bounded by the session timeout.
    func blocking<T>(_ body: () -> T) -> T {
        libssh2_session_set_blocking(raw, 1)
        defer { libssh2_session_set_blocking(raw, 0) }
        return body()
    }
}
