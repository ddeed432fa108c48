public import Foundation
import Crypto

/// What can be told about an etcd snapshot file without etcd: its size, etcd's trailing SHA-256
/// and whether the data before it matches, and (for a bbolt database) the newest revision.
///
/// An etcd snapshot is a bbolt database (whole pages) followed by the SHA-256 of that database,
/// which etcd appends and `etcdutl snapshot restore` checks unless told to skip it; talosctl's
/// own check is `size % 512 == 32` (../shared/reference/talos/API-FACTS.md section 5; etcd
/// `server/storage/backend` snapshot and `etcdutl/snapshot` restore).
public struct EtcdSnapshotCheck: Sendable, Hashable, Codable {
    public var size: Int
    /// etcd's trailing SHA-256, hex.
    public var sha256: String
    /// The data matches its trailing SHA-256 and the size is whole 512-byte blocks plus 32.
    public var intact: Bool
    /// The newest revision in the `key` bucket, when the database could be read.
    public var revision: Int?

    /// Reads and checks the file at `path`.
    public static func read(_ path: String) throws(ClusterError) -> EtcdSnapshotCheck {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ClusterError(.io, "cannot read the etcd snapshot \(path)", hint: "check the path and that it is readable")
        }
        return check(Array(data))
    }

    /// Checks snapshot bytes.
    public static func check(_ bytes: [UInt8]) -> EtcdSnapshotCheck {
        guard bytes.count >= 32 else { return EtcdSnapshotCheck(size: bytes.count, sha256: "", intact: false, revision: nil) }
        let trailer = Array(bytes.suffix(32))
        let database = bytes.dropLast(32)
        let intact = bytes.count % 512 == 32 && Array(SHA256.hash(data: database)) == trailer
        return EtcdSnapshotCheck(
            size: bytes.count, sha256: trailer.map { String(format: "%02x", $0) }.joined(), intact: intact,
            revision: intact ? BoltRevisionReader(Array(database)).newestRevision() : nil)
    }
}

/// Just enough of bbolt's file format (go.etcd.io/bbolt `page.go`, `bucket.go`, `db.go`) to find
/// the largest key in etcd's `key` bucket, whose first 8 bytes are the main revision, big-endian
/// (etcd `server/storage/mvcc/revision.go`).
struct BoltRevisionReader {
    private let bytes: [UInt8]
    private static let magic: UInt32 = 0xED0C_DAED
    private static let branchPage: UInt16 = 0x01
    private static let leafPage: UInt16 = 0x02
    private static let bucketLeaf: UInt32 = 0x01
    private static let pageHeader = 16

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    private func u16(_ at: Int) -> UInt16? {
        guard at >= 0, at + 2 <= bytes.count else { return nil }
        return UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8
    }

    private func u32(_ at: Int) -> UInt32? {
        guard let low = u16(at), let high = u16(at + 2) else { return nil }
        return UInt32(low) | UInt32(high) << 16
    }

    private func u64(_ at: Int) -> UInt64? {
        guard let low = u32(at), let high = u32(at + 4) else { return nil }
        return UInt64(low) | UInt64(high) << 32
    }

    /// The newest revision, or nil when the file is not a bbolt database with a `key` bucket.
    func newestRevision() -> Int? {
        // Meta page 0: page header, then magic, version, pageSize, flags, root bucket {pgid, sequence}, ...
        guard u32(Self.pageHeader) == Self.magic, let pageSize = u32(Self.pageHeader + 8).map(Int.init), pageSize >= 512,
            let root = u64(Self.pageHeader + 16)
        else { return nil }
        // Meta page 1 may be newer (higher txid): use whichever has the higher txid.
        var rootPage = root
        if u32(pageSize + Self.pageHeader) == Self.magic, let txid0 = u64(Self.pageHeader + 48),
            let txid1 = u64(pageSize + Self.pageHeader + 48), txid1 > txid0, let root1 = u64(pageSize + Self.pageHeader + 16)
        {
            rootPage = root1
        }
        guard let bucket = findBucket(Array("key".utf8), page: Int(rootPage), pageSize: pageSize, depth: 0) else { return nil }
        guard let last = lastKey(page: bucket, pageSize: pageSize, depth: 0), last.count >= 8 else { return nil }
        let revision = last.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return revision <= UInt64(Int.max) ? Int(revision) : nil
    }

    /// The root page of a top-level bucket named `name` (inline buckets are not followed: etcd's `key` bucket is never inline once it holds data).
    private func findBucket(_ name: [UInt8], page: Int, pageSize: Int, depth: Int) -> Int? {
        let base = page * pageSize
        guard depth < 16, let flags = u16(base + 8), let count = u16(base + 10).map(Int.init) else { return nil }
        if flags & Self.branchPage != 0 {
            for index in 0..<count {
                let element = base + Self.pageHeader + index * 16
                guard let child = u64(element + 8), let found = findBucket(name, page: Int(child), pageSize: pageSize, depth: depth + 1) else { continue }
                return found
            }
            return nil
        }
        guard flags & Self.leafPage != 0 else { return nil }
        for index in 0..<count {
            // leafPageElement: flags u32, pos u32, ksize u32, vsize u32; pos is from the element.
            let element = base + Self.pageHeader + index * 16
            guard let elementFlags = u32(element), let pos = u32(element + 4).map(Int.init), let keySize = u32(element + 8).map(Int.init),
                let valueSize = u32(element + 12).map(Int.init), element + pos + keySize + valueSize <= bytes.count
            else { return nil }
            let key = Array(bytes[(element + pos)..<(element + pos + keySize)])
            guard elementFlags & Self.bucketLeaf != 0, key == name, valueSize >= 8, let root = u64(element + pos + keySize), root != 0 else { continue }
            return Int(root)
        }
        return nil
    }

    /// The largest key under a page: the last element of the last leaf.
    private func lastKey(page: Int, pageSize: Int, depth: Int) -> [UInt8]? {
        let base = page * pageSize
        guard depth < 32, let flags = u16(base + 8), let count = u16(base + 10).map(Int.init), count > 0 else { return nil }
        let element = base + Self.pageHeader + (count - 1) * 16
        if flags & Self.branchPage != 0 {
            guard let child = u64(element + 8) else { return nil }
            return lastKey(page: Int(child), pageSize: pageSize, depth: depth + 1)
        }
        guard flags & Self.leafPage != 0, let pos = u32(element + 4).map(Int.init), let keySize = u32(element + 8).map(Int.init),
            element + pos + keySize <= bytes.count
        else { return nil }
        return Array(bytes[(element + pos)..<(element + pos + keySize)])
    }
}
