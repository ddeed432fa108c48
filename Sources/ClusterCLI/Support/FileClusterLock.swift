import ClusterKit
import Foundation
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The CLI's ``ClusterLock``: `lock` in the cluster's clusterctl directory, locked with flock(2)
/// and holding who took it (JSON), so a refused run can name the holder. The kernel drops a
/// flock when its process ends, however it ends, so a crash never leaves a stale lock behind;
/// the file itself stays and is simply locked again by the next run.
struct FileClusterLock: ClusterLock {
    let directory: URL

    var url: URL { directory.appendingPathComponent("lock") }

    func acquire(as holder: ClusterLockHolder) throws(ClusterError) -> any ClusterLockLease {
        try SecureFile.ensureDirectory(directory)
        let descriptor = open(url.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            let reason = String(cString: strerror(errno))
            throw ClusterError(.io, "cannot open the lock file \(url.path): \(reason); nothing was changed", hint: "make \(directory.path) writable by you")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let busy = errno == EWOULDBLOCK
            let reason = String(cString: strerror(errno))
            let current = Self.holder(descriptor)
            close(descriptor)
            guard busy else { throw ClusterError(.io, "cannot lock \(url.path): \(reason)") }
            throw ClusterError(
                .refused, "another clusterctl run is changing this cluster: \(current.map(\.description) ?? "a process that did not say who it is"); nothing was changed",
                hint: "wait for it to finish and run again; the lock is released the moment that process ends, even if it crashes")
        }
        if let data = try? JSONEncoder().encode(holder) {
            _ = ftruncate(descriptor, 0)
            _ = data.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, data.count, 0) }
        }
        return Lease(descriptor: descriptor)
    }

    private static func holder(_ descriptor: Int32) -> ClusterLockHolder? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return nil }
        return try? JSONDecoder().decode(ClusterLockHolder.self, from: Data(buffer.prefix(count)))
    }

    /// Holds the locked descriptor; ``release()`` closes it, and so does the process ending.
    final class Lease: ClusterLockLease, @unchecked Sendable {
        private let lock = NSLock()
        private var descriptor: Int32?

        init(descriptor: Int32) { self.descriptor = descriptor }

        func release() {
            lock.lock()
            defer { lock.unlock() }
            if let descriptor { close(descriptor) }
            descriptor = nil
        }
    }
}
