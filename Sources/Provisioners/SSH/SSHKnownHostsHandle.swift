import CLibSSH2

/// Owns one `LIBSSH2_KNOWNHOSTS` collection and frees it in `deinit`.
final class SSHKnownHostsHandle {
    let raw: OpaquePointer
    let session: SSHSessionHandle

    init(session: SSHSessionHandle) throws {
        guard let raw = libssh2_knownhost_init(session.raw) else {
            throw session.error(libssh2_session_last_errno(session.raw), .knownHosts, "creating a known_hosts collection")
        }
        self.raw = raw
        self.session = session
    }

    deinit { libssh2_knownhost_free(raw) }
}
