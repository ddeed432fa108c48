/// A finished etcd snapshot file.
public struct EtcdSnapshotInfo: Sendable, Hashable, Codable {
    public var path: String
    /// Bytes; a bbolt database plus a trailing SHA-256, so `size % 512 == 32`.
    public var size: Int

    public init(path: String, size: Int) {
        self.path = path
        self.size = size
    }
}
