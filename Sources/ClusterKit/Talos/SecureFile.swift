public import Foundation
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writes files atomically (temporary file in the same directory, fsync, rename, fsync of the
/// directory), with their final mode from creation: 0600 unless told otherwise, so a crash never
/// leaves a half-written bundle or a world-readable one. The spec editor uses it too, keeping the
/// spec file's own mode.
public enum SecureFile {
    #if canImport(Glibc)
        private static let systemWrite = Glibc.write
    #else
        private static let systemWrite = Darwin.write
    #endif

    public static func write(_ text: String, to url: URL, mode: mode_t = 0o600) throws(ClusterError) {
        let directory = url.deletingLastPathComponent()
        try ensureDirectory(directory)
        let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp")
        let descriptor = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard descriptor >= 0 else { throw ioError("create", temporary) }
        var written = 0
        let bytes = Array(text.utf8)
        var failure: ClusterError?
        while written < bytes.count {
            let result = bytes.withUnsafeBytes { buffer in
                systemWrite(descriptor, buffer.baseAddress?.advanced(by: written), bytes.count - written)
            }
            if result < 0 {
                if errno == EINTR { continue }
                failure = ioError("write", temporary)
                break
            }
            written += result
        }
        if failure == nil && fchmod(descriptor, mode) != 0 { failure = ioError("chmod", temporary) }
        if failure == nil && fsync(descriptor) != 0 { failure = ioError("fsync", temporary) }
        close(descriptor)
        if failure == nil && rename(temporary.path, url.path) != 0 { failure = ioError("rename into place", url) }
        if let failure {
            unlink(temporary.path)
            throw failure
        }
        let directoryDescriptor = open(directory.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryDescriptor >= 0 {
            fsync(directoryDescriptor)
            close(directoryDescriptor)
        }
    }

    /// Creates a directory (and parents) with mode 0700 when missing.
    public static func ensureDirectory(_ url: URL) throws(ClusterError) {
        do {
            try FileManager.default.createDirectory(
                at: url, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw ClusterError(.io, "cannot create directory \(url.path)", cause: error)
        }
    }

    public static func exists(_ url: URL) -> Bool { FileManager.default.fileExists(atPath: url.path) }

    public static func read(_ url: URL) throws(ClusterError) -> String {
        do {
            return try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw ClusterError(.io, "cannot read \(url.path)", cause: error)
        }
    }

    /// Reads a file that holds a secret (a token, a passphrase, a secrets bundle), refusing it,
    /// as ssh refuses a private key, when its group or others may read or write it: a secret
    /// others can read is already leaked, and one others can write can be swapped. `what` names
    /// it in the error. The content is registered with ``SecretScrubber/shared`` so no output of
    /// this run can show it.
    public static func readPrivate(_ url: URL, what: String) throws(ClusterError) -> String {
        let mode: Int
        do {
            mode = (try FileManager.default.attributesOfItem(atPath: url.path)[.posixPermissions] as? Int ?? 0) & 0o777
        } catch {
            throw ClusterError(.secrets, "cannot read \(what) \(url.path): \(error.localizedDescription)", hint: "check the path and its permissions")
        }
        if isLoose(mode) {
            throw ClusterError(
                .secrets, "\(what) \(url.path) is readable or writable by others (mode \(String(mode, radix: 8))); it was not used",
                hint: "run `chmod 600 \(url.path)` (and check who may have read it)")
        }
        let text = try read(url)
        SecretScrubber.shared.register(text.trimmingCharacters(in: .whitespacesAndNewlines))
        return text
    }

    /// Whether a file's permission bits let its group or others read or write it.
    public static func isLoose(_ mode: Int) -> Bool { mode & 0o077 != 0 }

    /// The file's permission bits, when it can be examined.
    public static func mode(of url: URL) -> Int? {
        (try? FileManager.default.attributesOfItem(atPath: url.path)[.posixPermissions] as? Int).map { $0 & 0o777 }
    }

    /// Creates `url` with `text` (0600, atomic) only if it does not exist yet. The file is
    /// published with link(2), which fails when the name exists, so two racing creators never both
    /// win; the loser gets a `refused` error.
    public static func createExclusively(_ text: String, at url: URL) throws(ClusterError) {
        let staged = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).new")
        try write(text, to: staged)
        defer { unlink(staged.path) }
        guard link(staged.path, url.path) == 0 else {
            if errno == EEXIST { throw ClusterError(.refused, "\(url.path) already exists; it was not replaced") }
            throw ioError("link into place", url)
        }
        let directoryDescriptor = open(url.deletingLastPathComponent().path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryDescriptor >= 0 {
            fsync(directoryDescriptor)
            close(directoryDescriptor)
        }
    }

    private static func ioError(_ action: String, _ url: URL) -> ClusterError {
        let reason = String(cString: strerror(errno))
        return ClusterError(.io, "cannot \(action) \(url.path): \(reason)")
    }
}
