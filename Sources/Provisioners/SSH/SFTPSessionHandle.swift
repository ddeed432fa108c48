import CLibSSH2

/// Owns one `LIBSSH2_SFTP` subsystem channel and shuts it down in `deinit`.
final class SFTPSessionHandle {
    let raw: OpaquePointer
    let session: SSHSessionHandle

    init(raw: OpaquePointer, session: SSHSessionHandle) {
        self.raw = raw
        self.session = session
    }

    deinit {
        let raw = raw
        _ = session.blocking { libssh2_sftp_shutdown(raw) }
    }

    /// The SFTP status code of the last failure (`LIBSSH2_FX_*`, draft-ietf-secsh-filexfer-02 §7).
    var lastStatus: UInt { libssh2_sftp_last_error(raw) }

    /// A readable name for an SFTP status code.
    static func describe(status: UInt) -> String {
        switch status {
        case 2: "no such file"
        case 3: "permission denied"
        case 4: "failure"
        case 5: "bad message"
        case 6: "no connection"
        case 7: "connection lost"
        case 8: "operation unsupported"
        default: "SFTP status \(status)"
        }
    }
}
