/// A hash that is the same in every process (FNV-1a, 64 bit), unlike Swift's seeded `Hasher`:
/// retry jitter and the simulator's timing jitter draw from it so every run repeats exactly.
public enum StableHash {
    /// A value in [0, 1) determined only by `key` and `seed`.
    public static func unitInterval(_ key: String, seed: UInt64 = 0) -> Double {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325 ^ seed
        for byte in key.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        return Double(hash >> 11) / Double(1 << 53)
    }
}
