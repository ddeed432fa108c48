import CLibSSH2
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension SSHConnection {
    /// Writes a remote file over SFTP: into a temporary name beside the target, with `mode`,
    /// fsynced, then renamed over the target so readers never see half a file.
    ///
    /// `next` fills the buffer with the next chunk and returns its length, 0 at the end.
    func upload(
        to path: String, mode: Int32, deadline: ContinuousClock.Instant?, next: (UnsafeMutableRawBufferPointer) throws -> Int
    ) throws {
        let session = session
        let sessionRaw = session.raw
        let sftp = SFTPSessionHandle(
            raw: try session.open("starting SFTP", .sftp, deadline: deadline) { libssh2_sftp_init(sessionRaw) },
            session: session)
        let sftpRaw = sftp.raw
        let directory = (path as NSString).deletingLastPathComponent
        let base = (path as NSString).lastPathComponent
        let temporary = (directory.isEmpty ? "" : directory + "/") + ".\(base).upload-\(UInt32.random(in: 0...UInt32.max))"

        let fileRaw: OpaquePointer
        do {
            fileRaw = try session.open("creating \(temporary)", .sftp, deadline: deadline) {
                libssh2_sftp_open_ex(
                    sftpRaw, temporary, UInt32(temporary.utf8.count), clusterctl_ssh2_sftp_open_write, Int(mode),
                    LIBSSH2_SFTP_OPENFILE)
            }
        } catch var error as SSHError {
            error.message += " (\(SFTPSessionHandle.describe(status: sftp.lastStatus)))"
            throw error
        }
        let file = SFTPFileHandle(raw: fileRaw, sftp: sftp)
        var succeeded = false
        defer {
            if !succeeded {
                _ = try? session.retry("removing \(temporary)", deadline: ContinuousClock.now + .seconds(5), {
                    libssh2_sftp_unlink_ex(sftpRaw, temporary, UInt32(temporary.utf8.count))
                }, again: { $0 == LIBSSH2_ERROR_EAGAIN })
            }
        }

        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 * 1024, alignment: 8)
        defer { chunk.deallocate() }
        while true {
            let length = try next(chunk)
            if length == 0 { break }
            var offset = 0
            while offset < length {
                let written = try session.retry("writing \(path)", deadline: deadline, {
                    libssh2_sftp_write(
                        fileRaw, chunk.baseAddress.map { $0.assumingMemoryBound(to: CChar.self) + offset },
                        length - offset)
                }, again: { $0 == Int(LIBSSH2_ERROR_EAGAIN) })
                if written < 0 {
                    var error = session.error(Int32(written), .sftp, "writing \(path)")
                    error.message += " (\(SFTPSessionHandle.describe(status: sftp.lastStatus)))"
                    throw error
                }
                offset += written
            }
        }
        // The open mode passes through the server's umask; set the bits exactly.
        var attributes = LIBSSH2_SFTP_ATTRIBUTES()
        attributes.flags = clusterctl_ssh2_sftp_attr_permissions
        attributes.permissions = UInt(mode)
        try session.call("setting the mode of \(path)", .sftp, deadline: deadline) {
            libssh2_sftp_fstat_ex(fileRaw, &attributes, 1)
        }
        // fsync@openssh.com; servers without the extension answer "unsupported", which is not fatal.
        _ = try session.retry("syncing \(path)", deadline: deadline, { libssh2_sftp_fsync(fileRaw) }) {
            $0 == LIBSSH2_ERROR_EAGAIN
        }
        try file.close(deadline: deadline)

        // SFTP v3 rename fails when the target exists (draft-ietf-secsh-filexfer-02 §6.5), so the old
        // file goes first; a missing one is fine.
        let unlink = try session.retry("replacing \(path)", deadline: deadline, {
            libssh2_sftp_unlink_ex(sftpRaw, path, UInt32(path.utf8.count))
        }, again: { $0 == LIBSSH2_ERROR_EAGAIN })
        if unlink < 0 && sftp.lastStatus != 2 {
            var error = session.error(unlink, .sftp, "replacing \(path)")
            error.message += " (\(SFTPSessionHandle.describe(status: sftp.lastStatus)))"
            throw error
        }
        let rename = try session.retry("renaming into \(path)", deadline: deadline, {
            libssh2_sftp_rename_ex(sftpRaw, temporary, UInt32(temporary.utf8.count), path, UInt32(path.utf8.count), 0)
        }, again: { $0 == LIBSSH2_ERROR_EAGAIN })
        if rename < 0 {
            var error = session.error(rename, .sftp, "renaming into \(path)")
            error.message += " (\(SFTPSessionHandle.describe(status: sftp.lastStatus)))"
            throw error
        }
        succeeded = true
    }
}
