import Synchronization

/// Adds up the time spent generating private keys, for the benchmark's "share spent on key
/// generation". Only active inside ``TalosPKI/measuringKeyGeneration(_:)``; otherwise key
/// generation reads no clock at all.
final class KeyGenerationMeter: Sendable {
    @TaskLocal static var current: KeyGenerationMeter?

    private let total = Mutex<Duration>(.zero)

    var elapsed: Duration { total.withLock { $0 } }

    func add(_ duration: Duration) { total.withLock { $0 += duration } }
}

extension TalosPKI {
    /// Runs `body` and returns its result with the time spent inside it generating private keys
    /// (RSA, ECDSA, Ed25519), measured on the monotonic clock.
    public static func measuringKeyGeneration<T>(_ body: () throws -> T) rethrows -> (result: T, keyGeneration: Duration) {
        let meter = KeyGenerationMeter()
        let result = try KeyGenerationMeter.$current.withValue(meter) { try body() }
        return (result, meter.elapsed)
    }

    /// Times `body` into the current meter, if any.
    static func metered<T>(_ body: () throws -> T) rethrows -> T {
        guard let meter = KeyGenerationMeter.current else { return try body() }
        let clock = ContinuousClock()
        let start = clock.now
        defer { meter.add(clock.now - start) }
        return try body()
    }
}
