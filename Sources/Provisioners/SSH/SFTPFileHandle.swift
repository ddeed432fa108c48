import CLibSSH2

/// Owns one open `LIBSSH2_SFTP_HANDLE` and closes it in `deinit` unless closed already.
final class SFTPFileHandle {
    let raw: OpaquePointer
    let sftp: SFTPSessionHandle
    private var closed = false

    init(raw: OpaquePointer, sftp: SFTPSessionHandle) {
        self.raw = raw
        self.sftp = sftp
    }

    /// Closes the handle, surfacing the server's answer (a failed close can mean lost data).
    func close(deadline: ContinuousClock.Instant?) throws {
        guard !closed else { return }
        closed = true
        let raw = raw
        let rc = try sftp.session.retry("closing remote file", deadline: deadline, { libssh2_sftp_close_handle(raw) }) {
            $0 == LIBSSH2_ERROR_EAGAIN
        }
        try sftp.session.check(rc, .sftp, "closing remote file")
    }

    deinit {
        if !closed {
            let raw = raw
            _ = sftp.session.blocking { libssh2_sftp_close_handle(raw) }
        }
    }
}
