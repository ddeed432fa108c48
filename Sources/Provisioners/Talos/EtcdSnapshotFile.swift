public import ClusterKit
import Crypto
package import Foundation
import Synchronization

/// An etcd snapshot on disk, written the way talosctl writes one (`talosctl etcd snapshot`): the
/// stream goes to `<path>.part`, the size is checked, then the file is renamed into place, so a
/// half-received snapshot never sits where a restore would pick it up.
///
/// The file is a bbolt database (whole pages) plus etcd's trailing SHA-256, hence talosctl's
/// check `size % 512 == 32` (../shared/reference/talos/API-FACTS.md section 5).
package final class EtcdSnapshotFile: Sendable {
    private struct State {
        var handle: FileHandle?
        var size = 0
    }

    package let path: String
    private var partial: String { path + ".part" }
    private let state: Mutex<State>

    /// Opens `<path>.part` (0600) for writing.
    package init(path: String) throws(ProvisionerError) {
        self.path = path
        let partial = path + ".part"
        guard FileManager.default.createFile(atPath: partial, contents: nil, attributes: [.posixPermissions: 0o600]),
            let handle = FileHandle(forWritingAtPath: partial)
        else {
            throw ProvisionerError(.invalidInput, "cannot write the etcd snapshot to \(partial)", hint: "check that the directory exists and is writable")
        }
        state = Mutex(State(handle: handle))
    }

    package func append(_ bytes: Data) throws {
        try state.withLock { state in
            guard let handle = state.handle else { return }
            try handle.write(contentsOf: bytes)
            state.size += bytes.count
        }
    }

    /// Checks the size and renames the file into place.
    package func finish() throws(ProvisionerError) -> EtcdSnapshotInfo {
        let size = state.withLock { state -> Int in
            try? state.handle?.synchronize()
            try? state.handle?.close()
            state.handle = nil
            return state.size
        }
        guard size % 512 == 32 else {
            discard()
            throw ProvisionerError(.transport, "the etcd snapshot is \(size) bytes, not a bbolt database plus its SHA-256 (size % 512 must be 32); it was not kept",
                hint: "take the snapshot again")
        }
        guard rename(partial, path) == 0 else {
            discard()
            throw ProvisionerError(.invalidInput, "cannot move the etcd snapshot into place at \(path)")
        }
        return EtcdSnapshotInfo(path: path, size: size)
    }

    /// Closes and deletes the partial file.
    package func discard() {
        state.withLock { state in
            try? state.handle?.close()
            state.handle = nil
        }
        try? FileManager.default.removeItem(atPath: partial)
    }

    /// A snapshot's bytes for a member's data: zero-padded 4 KiB pages holding `payload`, then
    /// the SHA-256 of everything before it, as etcd appends it.
    package static func make(payload: [UInt8], minimumPages: Int = 2) -> [UInt8] {
        let page = 4096
        let pages = max(minimumPages, (payload.count + page - 1) / page)
        var database = payload + [UInt8](repeating: 0, count: pages * page - payload.count)
        database += Array(SHA256.hash(data: database))
        return database
    }

    /// Whether a snapshot has the right size and its trailing SHA-256 matches the data before it.
    package static func verify(_ snapshot: [UInt8]) -> Bool { EtcdSnapshotCheck.check(snapshot).intact }
}
