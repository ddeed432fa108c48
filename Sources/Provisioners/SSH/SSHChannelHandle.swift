import CLibSSH2

/// Owns one `LIBSSH2_CHANNEL` and frees it in `deinit`; keeps its session alive until then.
final class SSHChannelHandle {
    let raw: OpaquePointer
    let session: SSHSessionHandle

    init(raw: OpaquePointer, session: SSHSessionHandle) {
        self.raw = raw
        self.session = session
    }

    deinit {
        let raw = raw
        _ = session.blocking { libssh2_channel_free(raw) }
    }
}
